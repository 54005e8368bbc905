"""The sandbox modes a test may use here: ``require_mode`` for the attack suite and the batch tests."""
import os

import pytest

from autograder import sandbox


def require_mode(mode):
    """Skip a sandbox mode that cannot run here, with the reason; where MINITORCH_REQUIRE_SANDBOX names it (as
    .ci/run does), fail instead, so that a mode silently unavailable there is noticed. setpriv also cannot run
    where an installed framework the grader forbids (torch in a virtual environment other users can read) is
    readable by other users: the grader refuses to grade then, naming the path."""
    if mode == "none":
        return
    problem = sandbox._mode_problem(mode)
    if problem is None and mode == "setpriv":
        try:
            sandbox.check_private(sandbox.framework_paths())
        except sandbox.SandboxError as err:
            problem = str(err)
    if problem:
        if mode in os.environ.get("MINITORCH_REQUIRE_SANDBOX", "").split(","):
            pytest.fail(f"sandbox mode {mode} is required but cannot run: {problem}")
        pytest.skip(f"sandbox mode {mode} cannot run here: {problem}")
