"""What the sandbox child and the grader agree on, and the parent's checks on what comes back.

The parent writes the job into the job folder: ``JOB_FILE`` (the cases to run, the submissions'
folders, the memory cap) and ``INPUTS_FILE`` (inputs and upstream gradients only, never expected
values), and starts ``child.py JOBDIR START``. The child writes frames on one pipe (its stdout);
nothing else leaves the sandbox (there is no writable folder the grader reads back)::

    S <index>\\n                         START: case <index> starts
    I\\n                                 IMPORTED: the submission of that case is imported (sent
                                         when the child switches submission: its first case)
    R <index> <npz bytes> <json bytes>\\n  RESULT: then the .npz (arrays, no pickle) and the JSON
                                         ({"errors": {...}}) of the case that started
    F <json bytes>\\n                      FATAL: then {"error": "..."}: the child could not start
                                         (before any case; the parent stops with a grader error)
    D\\n                                   DONE: all cases done

Result arrays are named ``out/<name>``, ``grad/<input>`` and ``fd/<input>/numeric|analytic``;
messages ``forward``, ``backward``, ``fd`` and ``grad/<input>``.

Everything on that pipe is written by a process that also runs student code, so the parent treats
it as hostile: lengths are capped before anything is buffered, every ``.npz`` member's header is
read (``numpy.lib.format``) and checked against the keys, numeric dtypes and element counts the
parent expects before its bytes are turned into an array, and messages are capped and stripped of
control characters. This module imports only the standard library at import time (NumPy when
arrays are encoded or read): the child loads it first, before its search path holds NumPy, so
that every start-up failure after that can be reported as a FATAL frame.
"""
import io
import json
import re
import zipfile

JOB_FILE = "job.json"            # in the job folder: the job (parent -> child)
INPUTS_FILE = "inputs.npz"       # in the job folder: inputs and upstream gradients (parent -> child)

START, IMPORTED, RESULT, FATAL, DONE = "S", "I", "R", "F", "D"   # frame kinds (child -> parent)

# frameworks a submission may not use: scanned for by the parent, blocked in the child, absent from the sandbox
FORBIDDEN = ("torch", "tensorflow", "jax", "jaxlib")

MAX_LINE = 80                    # a frame header line
MAX_NPZ_BYTES = 64 << 20         # one case's arrays
MAX_JSON_BYTES = 64 << 10        # one case's messages
MAX_KEYS = 64                    # arrays or messages per case
MAX_MESSAGE = 2000               # characters per message
DEFAULT_MAX_ELEMENTS = 1 << 22   # per array, when the parent gives no expectation
MAX_NDIM = 8

_KEY = re.compile(r"^(out|grad)/[A-Za-z0-9_.\-]{1,64}$|^fd/[A-Za-z0-9_.\-]{1,64}/(numeric|analytic)$")
_ERROR_KEY = re.compile(r"^(forward|backward|fd)$|^grad/[A-Za-z0-9_.\-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class ProtocolError(ValueError):
    """The child broke the protocol (a forged, oversized or malformed frame)."""


# --------------------------------------------------------------------------- child side
def encode_start(index):
    return f"{START} {int(index)}\n".encode()


def encode_imported():
    return f"{IMPORTED}\n".encode()


def encode_result(index, arrays, errors):
    """One RESULT frame: numeric arrays only (others are dropped), messages as JSON."""
    import numpy as np  # noqa: PLC0415 - see the module docstring

    buf = io.BytesIO()
    clean = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        if v.dtype.kind in "biuf" and v.dtype.itemsize <= 8:
            clean[k] = np.array(v, order="C", copy=True)
    np.savez(buf, **clean)
    npz = buf.getvalue()
    js = json.dumps({"errors": {str(k): clean_message(v) for k, v in errors.items()}}).encode()
    return f"{RESULT} {int(index)} {len(npz)} {len(js)}\n".encode() + npz + js


def encode_fatal(message):
    js = json.dumps({"error": clean_message(message)}).encode()
    return f"{FATAL} {len(js)}\n".encode() + js


def encode_done():
    return f"{DONE}\n".encode()


# --------------------------------------------------------------------------- parent side
def clean_message(msg, limit=MAX_MESSAGE):
    """A message fit for a report: a str, control characters removed, at most ``limit`` characters."""
    s = msg if isinstance(msg, str) else str(msg)
    if len(s) > 4 * limit:
        s = s[:4 * limit]
    s = _CONTROL.sub("", s)
    if len(s) > limit:
        s = s[:limit] + " ... (message cut)"
    return s


class FrameReader:
    """Incremental parser of the child's frames. ``feed(bytes)`` returns the complete events:
    (START, index), (IMPORTED,), (RESULT, index, npz_bytes, json_bytes), (FATAL, json_bytes),
    (DONE,). Raises ProtocolError on anything else, before buffering more than the caps allow."""

    def __init__(self, max_npz=MAX_NPZ_BYTES, max_json=MAX_JSON_BYTES):
        self.buf = bytearray()
        self.need = None  # (event head, payload sizes) while a payload is pending
        self.max_npz, self.max_json = max_npz, max_json

    def feed(self, data):
        self.buf += data
        events = []
        while True:
            if self.need is not None:
                event = self._payload()
                if event is None:
                    break
                events.append(event)
                continue
            nl = self.buf.find(b"\n", 0, MAX_LINE + 1)
            if nl < 0:
                if len(self.buf) > MAX_LINE:
                    raise ProtocolError("a status line longer than the protocol allows")
                break
            line = bytes(self.buf[:nl]).decode("ascii", "replace")
            del self.buf[:nl + 1]
            try:
                event = self._status_line(line)
            except ProtocolError:
                raise
            except ValueError:
                raise ProtocolError(f"a malformed status line {line[:40]!r}") from None
            if event is not None:
                events.append(event)
        return events

    def _payload(self):
        """The pending frame's event once all of its payload has arrived, else None."""
        head, sizes = self.need
        total = sum(sizes)
        if len(self.buf) < total:
            return None
        parts, pos = [], 0
        for n in sizes:
            parts.append(bytes(self.buf[pos:pos + n]))
            pos += n
        del self.buf[:total]
        self.need = None
        return head + tuple(parts)

    def _status_line(self, line):
        """The event of a frame without payload, or None when one is pending (``self.need``)."""
        parts = line.split(" ")
        kind = parts[0]
        if kind == START and len(parts) == 2:
            return (START, _nat(parts[1]))
        if kind in (DONE, IMPORTED) and len(parts) == 1:
            return (kind,)
        if kind == RESULT and len(parts) == 4:
            n_npz, n_js = _nat(parts[2]), _nat(parts[3])
            if n_npz > self.max_npz:
                raise ProtocolError(f"the result arrays take {n_npz} bytes (the limit is {self.max_npz})")
            if n_js > self.max_json:
                raise ProtocolError(f"the result messages take {n_js} bytes (the limit is {self.max_json})")
            self.need = ((RESULT, _nat(parts[1])), (n_npz, n_js))
        elif kind == FATAL and len(parts) == 2:
            n_js = _nat(parts[1])
            if n_js > self.max_json:
                raise ProtocolError("the start-up error message is too long")
            self.need = ((FATAL,), (n_js,))
        else:
            raise ProtocolError(f"an unknown status line {line[:40]!r}")
        return None


def _nat(s):
    if not s.isdigit() or len(s) > 12:
        raise ValueError(s)
    return int(s)


def read_arrays(npz_bytes, expect=None, max_bytes=MAX_NPZ_BYTES):
    """{key: array} from an untrusted .npz. ``expect``: {key: max elements}; keys not in it are
    ignored (None: any well-formed result key, up to DEFAULT_MAX_ELEMENTS each). Each member's
    header is checked (numeric dtype, shape within the cap) before its data is read. Raises
    ProtocolError for a malformed archive or an array beyond its cap."""
    if len(npz_bytes) > max_bytes:
        raise ProtocolError("the result is larger than the limit")
    try:
        zf = zipfile.ZipFile(io.BytesIO(npz_bytes))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ProtocolError(f"the result is not a valid .npz ({type(e).__name__})") from None
    if len(infos) > MAX_KEYS:
        raise ProtocolError(f"the result holds {len(infos)} arrays (at most {MAX_KEYS} are accepted)")
    out, total = {}, 0
    for info in infos:
        name = info.filename
        if not name.endswith(".npy"):
            raise ProtocolError(f"unexpected member {name[:60]!r} in the result")
        key = name[:-4]
        if not _KEY.match(key):
            raise ProtocolError(f"unexpected array name {key[:60]!r} in the result")
        if expect is not None and key not in expect:
            continue
        cap = DEFAULT_MAX_ELEMENTS if expect is None else int(expect[key])
        if info.file_size > max_bytes:
            raise ProtocolError(f"{key}: larger than the limit")
        out[key], nbytes = _read_member(zf, info, key, cap, max_bytes - total)
        total += nbytes
    return out


def _read_member(zf, info, key, cap, max_bytes):
    """(array, its bytes) of one member: its header checked (numeric dtype, at most ``cap``
    elements, at most ``max_bytes``) before its data is read."""
    import numpy as np  # noqa: PLC0415 - see the module docstring

    try:
        with zf.open(info) as f:
            shape, fortran, dtype = _read_header(f, key)
            if dtype.kind not in "biuf" or dtype.hasobject or dtype.fields or dtype.itemsize > 8:
                raise ProtocolError(f"{key}: dtype {dtype} is not a plain numeric dtype")
            if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or \
                    not all(isinstance(d, int) and 0 <= d <= cap for d in shape):
                raise ProtocolError(f"{key}: shape {str(shape)[:60]} is not acceptable")
            count = 1
            for d in shape:
                count *= d
            if count > cap:
                raise ProtocolError(f"{key}: {count} elements, more than the {cap} expected at most")
            nbytes = count * dtype.itemsize
            if nbytes > max_bytes:
                raise ProtocolError("the result arrays are larger than the limit")
            data = f.read(nbytes + 1)
    except ProtocolError:
        raise
    except Exception as e:  # noqa: BLE001 - any malformed member is a protocol error
        raise ProtocolError(f"{key}: unreadable ({type(e).__name__})") from None
    if len(data) != nbytes:
        raise ProtocolError(f"{key}: the data does not match its header")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return np.array(arr, dtype=dtype.newbyteorder("="), copy=True), nbytes


def _read_header(f, key):
    """(shape, fortran order, dtype) from a member's .npy header (versions 1.0 and 2.0, capped size)."""
    import numpy as np  # noqa: PLC0415 - see the module docstring

    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=1024)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=1024)
    else:
        raise ProtocolError(f"{key}: unsupported .npy version {version}")
    return shape, fortran, np.dtype(dtype)


def read_errors(json_bytes, allowed=None):
    """{key: message} from the untrusted JSON of one case: known keys only (``allowed`` names the
    gradient keys), every message a capped, cleaned str."""
    try:
        obj = json.loads(json_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("the result messages are not valid JSON") from None
    errors = obj.get("errors") if isinstance(obj, dict) else None
    if not isinstance(errors, dict) or len(errors) > MAX_KEYS:
        raise ProtocolError("the result messages are malformed")
    out = {}
    for k, v in errors.items():
        if not isinstance(k, str) or not _ERROR_KEY.match(k):
            continue
        if allowed is not None and k.startswith("grad/") and k not in allowed:
            continue
        out[k] = clean_message(v)
    return out


def read_fatal(json_bytes):
    try:
        obj = json.loads(json_bytes.decode("utf-8"))
        return clean_message(obj["error"])
    except Exception:  # noqa: BLE001
        raise ProtocolError("the start-up error message is malformed") from None
