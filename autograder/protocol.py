"""The byte protocol between the sandbox child and the grader, and the parent's checks on it.

The child (``child.py``) writes frames on one pipe; nothing else leaves the sandbox (there is no
writable folder the grader reads back)::

    S <index>\\n                         case <index> starts
    R <index> <npz bytes> <json bytes>\\n  then the .npz (arrays, no pickle) and the JSON ({"errors": {...}})
    F <json bytes>\\n                      then {"error": "..."}: the child could not start (imports failed)
    D\\n                                   all cases done

Everything on that pipe is written by a process that also runs student code, so the parent treats
it as hostile: lengths are capped before anything is buffered, every ``.npz`` member's header is
read (``numpy.lib.format``) and checked against the keys, numeric dtypes and element counts the
parent expects before its bytes are turned into an array, and messages are capped and stripped of
control characters. This module imports only the standard library and NumPy: the child uses it too.
"""
import io
import json
import re
import zipfile

import numpy as np

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
def encode_result(index, arrays, errors):
    """One R frame: numeric arrays only (others are dropped), messages as JSON."""
    buf = io.BytesIO()
    clean = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        if v.dtype.kind in "biuf" and v.dtype.itemsize <= 8:
            clean[k] = np.array(v, order="C", copy=True)
    np.savez(buf, **clean)
    npz = buf.getvalue()
    js = json.dumps({"errors": {str(k): clean_message(v) for k, v in errors.items()}}).encode()
    return f"R {int(index)} {len(npz)} {len(js)}\n".encode() + npz + js


def encode_fatal(message):
    js = json.dumps({"error": clean_message(message)}).encode()
    return f"F {len(js)}\n".encode() + js


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
    ("S", index), ("I",), ("R", index, npz_bytes, json_bytes), ("F", json_bytes), ("D",). Raises
    ProtocolError on anything else, before buffering more than the caps allow."""

    def __init__(self, max_npz=MAX_NPZ_BYTES, max_json=MAX_JSON_BYTES):
        self.buf = bytearray()
        self.need = None  # (event head, sizes) while a payload is pending
        self.max_npz, self.max_json = max_npz, max_json

    def feed(self, data):
        self.buf += data
        events = []
        while True:
            if self.need is not None:
                head, sizes = self.need
                total = sum(sizes)
                if len(self.buf) < total:
                    break
                parts, pos = [], 0
                for n in sizes:
                    parts.append(bytes(self.buf[pos:pos + n]))
                    pos += n
                del self.buf[:total]
                events.append(head + tuple(parts))
                self.need = None
                continue
            nl = self.buf.find(b"\n", 0, MAX_LINE + 1)
            if nl < 0:
                if len(self.buf) > MAX_LINE:
                    raise ProtocolError("a status line longer than the protocol allows")
                break
            line = bytes(self.buf[:nl]).decode("ascii", "replace")
            del self.buf[:nl + 1]
            parts = line.split(" ")
            try:
                if parts[0] == "S" and len(parts) == 2:
                    events.append(("S", _nat(parts[1])))
                elif parts[0] in ("D", "I") and len(parts) == 1:
                    events.append((parts[0],))
                elif parts[0] == "R" and len(parts) == 4:
                    n_npz, n_js = _nat(parts[2]), _nat(parts[3])
                    if n_npz > self.max_npz:
                        raise ProtocolError(f"the result arrays take {n_npz} bytes (the limit is {self.max_npz})")
                    if n_js > self.max_json:
                        raise ProtocolError(f"the result messages take {n_js} bytes (the limit is {self.max_json})")
                    self.need = (("R", _nat(parts[1])), (n_npz, n_js))
                elif parts[0] == "F" and len(parts) == 2:
                    n_js = _nat(parts[1])
                    if n_js > self.max_json:
                        raise ProtocolError("the start-up error message is too long")
                    self.need = (("F",), (n_js,))
                else:
                    raise ProtocolError(f"an unknown status line {line[:40]!r}")
            except ValueError as e:
                if isinstance(e, ProtocolError):
                    raise
                raise ProtocolError(f"a malformed status line {line[:40]!r}") from None
        return events


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
        try:
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=1024)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=1024)
                else:
                    raise ProtocolError(f"{key}: unsupported .npy version {version}")
                dtype = np.dtype(dtype)
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
                total += nbytes
                if total > max_bytes:
                    raise ProtocolError("the result arrays are larger than the limit")
                data = f.read(nbytes + 1)
        except ProtocolError:
            raise
        except Exception as e:  # noqa: BLE001 - any malformed member is a protocol error
            raise ProtocolError(f"{key}: unreadable ({type(e).__name__})") from None
        if len(data) != nbytes:
            raise ProtocolError(f"{key}: the data does not match its header")
        arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        out[key] = np.array(arr, dtype=dtype.newbyteorder("="), copy=True)
    return out


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
