"""The drug library SOURCE: the reviewed regimen rules (library.toml, blinatumomab.toml)
and the pinned copies of the texts they cite (sources/).

This folder holds data, not code. It is a package only so that `pip install .`
ships the rules with the tools (`druglib build` without `--rules` outside a
checkout uses this folder, located with importlib.resources:
host_tools/library/build.py, default_rules_dir). Review the data here.
"""
