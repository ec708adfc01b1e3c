"""Packaging beyond pyproject.toml: the example scripts of ``examples/`` ship inside the package as
``minigrad/examples`` (with their data), so that an installed ``minigrad`` command finds them.
pyproject.toml alone cannot map a folder outside ``minigrad/`` into the package."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["minigrad*", "backends*"]), "minigrad.examples", "minigrad.examples.data"],
    package_dir={"minigrad.examples": "examples"},
    package_data={"minigrad.examples.data": ["*"]},
)
