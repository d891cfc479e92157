"""The `airlock` binary, packaged for pip, uv and pipx.

The wheel installs the compiled `airlock` executable into the environment's scripts folder
(next to `python`), and a small `airlock-mcp` command that runs it, so that `uvx airlock-mcp`
and `pipx run airlock-mcp` (which look for a command named after the package) reach it too.
"""

import os
import sys
import sysconfig

__all__ = ["find_airlock_bin"]


def find_airlock_bin() -> str:
    """The path of the installed `airlock` executable.

    Looked for beside the command that is running (a venv's or a tool environment's scripts
    folder), then in the interpreter's scripts folder, then in the user scheme's
    (`pip install --user`).
    """
    exe = "airlock" + (sysconfig.get_config_var("EXE") or "")
    folders = []
    if sys.argv and sys.argv[0]:
        folders.append(os.path.dirname(os.path.abspath(sys.argv[0])))
    folders.append(sysconfig.get_path("scripts"))
    try:
        user_scheme = sysconfig.get_preferred_scheme("user")
    except AttributeError:  # Python < 3.10
        user_scheme = f"{os.name}_user"
    try:
        folders.append(sysconfig.get_path("scripts", scheme=user_scheme))
    except KeyError:
        pass
    for folder in folders:
        candidate = os.path.join(folder, exe)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(
        f"the `{exe}` executable of the airlock-mcp package is not in any of: "
        + ", ".join(folders)
        + ". Reinstall the package (pip install --force-reinstall airlock-mcp)."
    )
