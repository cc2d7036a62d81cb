"""identity.credentials: Basic parsing and the per-pair brake with a growing delay."""

from __future__ import annotations

import base64

from addon.identity.credentials import AuthCache, parse_basic


def test_parse_basic() -> None:
    tok = base64.b64encode(b"Ana:s3:cr3t").decode()
    assert parse_basic(f"Basic {tok}") == ("ana", "s3:cr3t")
    assert parse_basic("Basic !!!") is None and parse_basic("Bearer x") is None
    assert parse_basic(None) is None
    assert parse_basic("Basic " + base64.b64encode(b"\xff:x").decode()) is None


def test_delay_grows_per_pair_and_a_success_clears_it() -> None:
    a = AuthCache(free_failures=3, max_delay=60)
    delays = [a.failure("ana", "10.0.0.1", now=100.0) for _ in range(8)]
    assert delays == [0, 0, 1, 2, 4, 8, 16, 32]
    assert a.wait_seconds("ana", "10.0.0.1", now=100.0) == 32
    assert a.wait_seconds("ana", "10.0.0.2", now=100.0) == 0  # another address
    assert a.wait_seconds("bia", "10.0.0.1", now=100.0) == 0  # another login
    for _ in range(10):
        a.failure("ana", "10.0.0.1", now=100.0)
    assert a.wait_seconds("ana", "10.0.0.1", now=100.0) == 60  # capped
    a.success("ana", "pw", "10.0.0.1", now=200.0)
    assert a.wait_seconds("ana", "10.0.0.1", now=200.0) == 0
    assert a.verified("ana", "pw", now=201.0) and not a.verified("ana", "other", now=201.0)
    assert not a.verified("ana", "pw", now=200.0 + a.ttl + 1)


def test_failure_records_are_bounded(monkeypatch) -> None:  # noqa: ANN001
    import addon.identity.credentials as c

    monkeypatch.setattr(c, "MAX_PAIRS", 100)
    a = AuthCache()
    for i in range(1000):
        a.failure(f"u{i}", "10.0.0.1", now=1.0)
    assert len(a._fail) <= 100


def test_one_password_check_for_every_door() -> None:
    """check_password: the brake before the directory, the count after it."""
    from addon.errors import DirectoryUnavailable
    from addon.identity.credentials import AuthCache, check_password

    asked: list[str] = []

    def directory(login: str, password: str) -> bool:
        asked.append(password)
        return password == "certa"

    brake = AuthCache(free_failures=2)
    assert check_password(brake, directory, "ana", "certa", "10.0.0.5").ok
    assert not check_password(brake, directory, "ana", "", "10.0.0.5").ok
    assert asked == ["certa"]  # an empty password never reaches the directory
    assert not check_password(brake, directory, "ana", "errada", "10.0.0.5").ok  # 2nd failure
    braked = check_password(brake, directory, "ana", "certa", "10.0.0.5")
    assert braked.throttled and not braked.ok  # past the free failures: the right one waits
    assert asked == ["certa", "errada"]  # and the directory was not asked
    assert check_password(brake, directory, "ana", "certa", "10.0.0.6").ok  # another pair

    def away(login: str, password: str) -> bool:
        raise DirectoryUnavailable("ldap://dc1: timed out")

    try:
        check_password(AuthCache(), away, "ana", "certa", "10.0.0.5")
    except DirectoryUnavailable:
        pass
    else:
        raise AssertionError("a silent directory must not pass as a wrong password")
