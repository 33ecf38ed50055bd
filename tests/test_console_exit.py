"""The ``dami`` console script ends fast (``os._exit``) but loses nothing: exit handlers run, the
streams are flushed, the exit code is the command's, and a live thread keeps the normal exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _script(body: str, *argv: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(body) + "\nimport sys\nsys.argv = ['dami', *%r]\nfrom dami_np.cli import console_main\nconsole_main()\n" % (argv,)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_exit_handlers_run_and_output_is_whole():
    done = _script("""
        import atexit
        atexit.register(lambda: print('handler ran', flush=True))
        """, "datasets")
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("handler ran")
    listed = subprocess.run([sys.executable, "-c", "import sys; from dami_np.cli import main; sys.exit(main(['datasets']))"],
                            capture_output=True, text=True, timeout=120)
    assert done.stdout.replace("handler ran\n", "") == listed.stdout


def test_the_commands_exit_code_is_kept():
    assert _script("", "no-such-command").returncode == 2
    assert _script("", "select", "/no/such/table.csv", "--label", "y").returncode == 2


def test_unflushed_output_is_flushed():
    done = _script("""
        import atexit, sys
        atexit.register(lambda: sys.stdout.write('written at exit, not flushed'))
        """, "datasets")
    assert done.returncode == 0 and done.stdout.endswith("written at exit, not flushed")


def test_a_live_thread_keeps_the_normal_exit():
    done = _script("""
        import threading, time
        def late():
            time.sleep(0.5)
            print('thread finished', flush=True)
        threading.Thread(target=late).start()
        """, "datasets")
    assert done.returncode == 0 and "thread finished" in done.stdout
