"""``--output`` and ``--save-output`` onto every kind of path: a new path or a regular file is replaced
atomically, a link is followed (the file it points to is replaced, the link stays), a FIFO or a device is written
through, and a directory, a socket or a block device is refused. Nothing is ever turned into a regular file."""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parent.parent


def shapes_to(cli, path: Path | str):
    return cli("shapes", "lenet5", "--format", "csv", "--output", str(path))


def save_to(cli, path: Path | str):
    return cli("run", "lenet5", "--save-output", str(path))


def expected_bytes(cli, writer) -> bytes:
    """What the command writes onto a fresh regular file: the reference for every other kind of target."""
    fresh = Path(os.environ.get("TMPDIR", "/tmp")) / f"cnncalc-expected-{os.getpid()}-{writer.__name__}"
    try:
        assert writer(cli, fresh).exit_code == 0
        return fresh.read_bytes()
    finally:
        fresh.unlink(missing_ok=True)


def read_fifo_while(fifo: Path, action) -> tuple[bytes, object]:
    """Run ``action`` while a thread reads ``fifo`` to its end; (bytes read, what ``action`` returned).

    The reading end is opened first and a writing end is held open until ``action`` returns, so the reader
    neither sees an early end nor waits forever when ``action`` never opens the FIFO (when it replaces it)."""
    reading = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    holding = os.open(fifo, os.O_WRONLY)
    os.set_blocking(reading, True)
    chunks: list[bytes] = []

    def read() -> None:
        while chunk := os.read(reading, 1 << 16):
            chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = action()
    finally:
        os.close(holding)
        reader.join()
        os.close(reading)
    return b"".join(chunks), result


WRITERS = [shapes_to, save_to]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_link_to_a_regular_file_replaces_the_file_and_keeps_the_link(cli, tmp_path, writer):
    data, links = tmp_path / "data", tmp_path / "links"
    data.mkdir(), links.mkdir()
    target = data / "out"
    target.write_bytes(b"old")
    target.chmod(0o640)
    (links / "first").symlink_to(target)
    (links / "second").symlink_to(links / "first")  # a chain of links
    assert writer(cli, links / "second").exit_code == 0
    assert (links / "second").is_symlink() and (links / "first").is_symlink()
    assert target.read_bytes() == expected_bytes(cli, writer)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(path.name for path in data.iterdir()) == ["out"]  # the temporary was beside the target
    assert sorted(path.name for path in links.iterdir()) == ["first", "second"]


@pytest.mark.parametrize("writer", WRITERS)
def test_a_dangling_link_creates_its_target(cli, tmp_path, writer):
    (tmp_path / "link").symlink_to(tmp_path / "new")
    assert writer(cli, tmp_path / "link").exit_code == 0
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "new").read_bytes() == expected_bytes(cli, writer)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_fifo_is_written_through_and_stays_a_fifo(cli, tmp_path, writer):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received, result = read_fifo_while(fifo, lambda: writer(cli, fifo))
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received == expected_bytes(cli, writer)
    assert [path.name for path in tmp_path.iterdir()] == ["pipe"]


def test_a_saved_output_read_from_a_fifo_is_the_array(cli, tmp_path):
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    received, _ = read_fifo_while(fifo, lambda: save_to(cli, fifo))
    assert np.load(io.BytesIO(received)).shape == (1, 10)


@pytest.fixture
def dev_null(tmp_path) -> Path:
    """A null device: a private node of /dev/null's own device (1, 3) when root may make one, so that a regression
    replaces a node of the test's and not the machine's /dev/null (which it did, running these tests against the
    old code); else the real /dev/null, which a user who is not root cannot replace anyway."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.stat("/dev/null").st_rdev)
    except PermissionError:
        return Path("/dev/null")
    return node


@pytest.mark.parametrize("writer", WRITERS)
def test_dev_null_stays_a_device(cli, dev_null, writer):
    before = os.stat(dev_null)
    assert writer(cli, dev_null).exit_code == 0
    after = os.lstat(dev_null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert dev_null.read_bytes() == b""


@pytest.mark.parametrize("writer", WRITERS)
def test_a_link_to_dev_null_is_written_through(cli, tmp_path, dev_null, writer):
    (tmp_path / "sink").symlink_to(dev_null)
    assert writer(cli, tmp_path / "sink").exit_code == 0
    assert os.readlink(tmp_path / "sink") == str(dev_null) and stat.S_ISCHR(os.lstat(dev_null).st_mode)


@pytest.mark.parametrize("redirect", ["pipe", "file"])
def test_dev_stdout_writes_to_standard_output(tmp_path, redirect):
    """``-o /dev/stdout`` on a pipe (a CI log) and on a redirected file: the text arrives, nothing is replaced.
    The path is a link of the test's to /proc/self/fd/1, what /dev/stdout is, so a regression replaces that link
    and not the machine's /dev/stdout."""
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    command = [sys.executable, "-m", "cnncalc", "shapes", "lenet5", "--format", "csv"]
    expected = subprocess.run(command, capture_output=True, cwd=ROOT, check=True).stdout
    log = tmp_path / "log.txt"
    log.write_bytes(b"before\n")
    with open(log, "ab") as stream:
        inode = os.fstat(stream.fileno()).st_ino
        result = subprocess.run(
            [*command, "--output", str(stdout)],
            stdout=subprocess.PIPE if redirect == "pipe" else stream,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
    assert result.returncode == 0, result.stderr
    assert os.readlink(stdout) == "/proc/self/fd/1"
    if redirect == "pipe":
        assert result.stdout == expected
    else:
        assert log.read_bytes() == b"before\n" + expected and log.stat().st_ino == inode  # appended, same file


@pytest.mark.parametrize("writer", WRITERS)
def test_a_socket_is_refused_and_left_alone(cli, tmp_path, writer):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        result = writer(cli, path)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(f"{path}: it is a socket")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_link_to_a_directory_is_refused(cli, tmp_path, writer):
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "folder")
    result = writer(cli, tmp_path / "link")
    assert result.exit_code == 2 and result.stderr.strip().endswith("it is a directory")
    assert (tmp_path / "link").is_symlink() and list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_a_link_loop_is_a_usage_error(cli, tmp_path, writer):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    result = writer(cli, tmp_path / "a")
    assert result.exit_code == 2 and "Too many levels of symbolic links" in result.stderr
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


# The whole class: whatever the path names, what it is afterwards is what it was (a link stays a link, a FIFO a
# FIFO, a device a device), only a regular file's contents change, and no temporary is left behind.
@pytest.mark.parametrize("writer", WRITERS)
def test_no_target_ever_changes_its_file_type(cli, tmp_path, dev_null, writer):
    (tmp_path / "regular").write_bytes(b"old")
    (tmp_path / "link").symlink_to(tmp_path / "regular")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "devlink").symlink_to(dev_null)
    (tmp_path / "folder").mkdir()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket"))
        names = sorted(path.name for path in tmp_path.iterdir())
        for path in [*tmp_path.iterdir(), dev_null]:
            before = stat.S_IFMT(os.lstat(path).st_mode)
            if stat.S_ISFIFO(before):
                _, result = read_fifo_while(path, lambda path=path: writer(cli, path))
            else:
                result = writer(cli, path)
            assert result.exit_code in (0, 2), (path, result.output)
            assert stat.S_IFMT(os.lstat(path).st_mode) == before, path
    assert sorted(path.name for path in tmp_path.iterdir()) == names
