"""`airlock-mcp ARGS…` and `python -m airlock_mcp ARGS…`: run `airlock ARGS…`.

On POSIX the binary replaces this process (`exec`), so stdin/stdout, signals and the exit
status are the binary's own and nothing of Python stays running. Windows has no exec: the
binary runs as a child with the same standard streams and its exit code is passed on.
"""

import os
import sys

from airlock_mcp import find_airlock_bin


def main() -> None:
    try:
        binary = find_airlock_bin()
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(127)
    argv = [binary, *sys.argv[1:]]
    if os.name != "nt":
        os.execv(binary, argv)
    import subprocess

    child = subprocess.Popen(argv)
    while True:
        try:
            sys.exit(child.wait())
        except KeyboardInterrupt:
            # The console sent Ctrl+C to the child as well: let it decide how to stop.
            continue


if __name__ == "__main__":
    main()
