"""Installs the ``minitorch`` package (distribution name ``minitorch-course``: the PyPI name
``minitorch`` belongs to another project)."""
from setuptools import find_packages, setup

setup(
    name="minitorch-course",
    version="0.1.0",
    description="A from-scratch NumPy/CuPy deep-learning framework for teaching, with an autograder",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["minitorch", "minitorch.*", "autograder", "autograder.*"]),
    include_package_data=True,
    package_data={"autograder": ["fixtures/*.npz", "fixtures/*.json", "rubrics/*.toml", "*.toml"]},
    # Python 3.9 and 3.10 read the autograder's rubrics with tomli (tomllib is 3.11+)
    install_requires=["numpy>=1.24", "tqdm", "threadpoolctl", 'tomli>=1.1; python_version < "3.11"'],
    extras_require={
        "dev": [
            # torch 2.13.0 (the fixtures' reference) has no Python 3.9 wheels: there the torch comparisons skip
            "pytest", "pytest-timeout", "hypothesis", 'torch==2.13.0; python_version >= "3.10"', "matplotlib", "scipy",
            "nbclient", "ipykernel", "nbformat", "ruff", "graphviz", "tensorboardX", "tensorboard",
            "pyyaml",  # tests/platforms/test_ci_workflow.py parses .github/workflows/ci.yml
        ],
        "gpu": ["cupy-cuda12x"],
        "plot": ["matplotlib"],
        # graph drawings (also needs Graphviz's dot program), TensorBoard logs (view them with: pip install tensorboard)
        "viz": ["matplotlib", "graphviz", "tensorboardX"],
    },
)
