"""Markers per assignment and per rubric test (``-m hw4_attention_kernel``), registered here."""
import os

from autograder.rubric import available_assignments, load_rubric


def pytest_configure(config):
    for hw in available_assignments():
        config.addinivalue_line("markers", f"{hw}: autograder tests of {hw}")
        for t in load_rubric(hw).tests:
            config.addinivalue_line("markers", f"{hw}_{t}: the {hw} rubric test {t!r} through pytest")


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
