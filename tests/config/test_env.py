"""The typed environment readers: right values through, and every bad value named in the error."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret, env_str, env_times, env_url

NAME = "LCC_TEST_SETTING"


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)


def raises_naming_variable():
    return pytest.raises(ImproperlyConfigured, match=NAME)


# --- missing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "read",
    [
        lambda: env_str(NAME),
        lambda: env_bool(NAME),
        lambda: env_int(NAME),
        lambda: env_list(NAME),
        lambda: env_url(NAME, schemes=("redis",)),
        lambda: env_secret(NAME, min_length=8),
    ],
    ids=["str", "bool", "int", "list", "url", "secret"],
)
def test_missing_required_variable_says_which_to_set(read):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        read()
    assert str(excinfo.value) == f"Set the environment variable {NAME}."


# --- env_str -----------------------------------------------------------------------------------


def test_env_str_returns_the_value_as_given(monkeypatch):
    monkeypatch.setenv(NAME, " some value ")
    assert env_str(NAME) == " some value "


def test_env_str_falls_back_to_default_when_unset():
    assert env_str(NAME, "fallback") == "fallback"


def test_env_str_keeps_an_empty_value_instead_of_the_default(monkeypatch):
    monkeypatch.setenv(NAME, "")
    assert env_str(NAME, "fallback") == ""


# --- env_bool ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "Yes", "on", " on "])
def test_env_bool_reads_true_spellings(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "OFF", ""])
def test_env_bool_reads_false_spellings_and_empty(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME) is False


def test_env_bool_falls_back_to_default_when_unset():
    assert env_bool(NAME, True) is True
    assert env_bool(NAME, False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_env_bool_rejects_unknown_word_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable() as excinfo:
        env_bool(NAME)
    assert repr(raw) in str(excinfo.value)


# --- env_int -----------------------------------------------------------------------------------


def test_env_int_reads_a_whole_number_with_surrounding_blanks(monkeypatch):
    monkeypatch.setenv(NAME, " 42 ")
    assert env_int(NAME) == 42


def test_env_int_falls_back_to_default_when_unset():
    assert env_int(NAME, 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "", "10s"])
def test_env_int_rejects_non_number_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable() as excinfo:
        env_int(NAME)
    assert "whole number" in str(excinfo.value)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv(NAME, "1")
    assert env_int(NAME, minimum=1) == 1


def test_env_int_rejects_value_below_minimum_naming_the_variable(monkeypatch):
    monkeypatch.setenv(NAME, "0")
    with raises_naming_variable() as excinfo:
        env_int(NAME, minimum=1)
    assert "at least 1" in str(excinfo.value)


def test_env_int_checks_the_default_against_the_minimum_too():
    with raises_naming_variable():
        env_int(NAME, -5, minimum=0)


# --- env_list ----------------------------------------------------------------------------------


def test_env_list_splits_on_commas_and_strips_items(monkeypatch):
    monkeypatch.setenv(NAME, "a.example.cn, b.example.cn ,c")
    assert env_list(NAME) == ["a.example.cn", "b.example.cn", "c"]


def test_env_list_reads_a_blank_value_as_empty(monkeypatch):
    monkeypatch.setenv(NAME, "   ")
    assert env_list(NAME) == []


def test_env_list_falls_back_to_default_when_unset():
    assert env_list(NAME, ["x"]) == ["x"]


@pytest.mark.parametrize("raw", ["a,,b", "a,b,", ",a", "a, ,b"])
def test_env_list_rejects_empty_item_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable() as excinfo:
        env_list(NAME)
    assert "empty item" in str(excinfo.value)


# --- env_url -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["redis://127.0.0.1:6379/0", "rediss://cache.internal/1", "unix:///run/redis.sock"],
)
def test_env_url_accepts_allowed_schemes(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    assert env_url(NAME, schemes=("redis", "rediss", "unix")) == raw


def test_env_url_accepts_a_path_without_host(monkeypatch):
    monkeypatch.setenv(NAME, "sqlite:///var/db.sqlite3")
    assert env_url(NAME, schemes=("sqlite",)) == "sqlite:///var/db.sqlite3"


def test_env_url_default_none_means_not_configured():
    assert env_url(NAME, None, schemes=("redis",)) is None


@pytest.mark.parametrize("raw", ["http://cache:6379/0", "cache:6379", "localhost"])
def test_env_url_rejects_wrong_scheme_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable() as excinfo:
        env_url(NAME, schemes=("redis", "rediss"))
    assert "redis://, rediss://" in str(excinfo.value)


@pytest.mark.parametrize("raw", ["redis://", "postgres:///", "redis://:6379"])
def test_env_url_rejects_url_without_host_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable() as excinfo:
        env_url(NAME, schemes=("redis", "postgres"))
    assert "no host" in str(excinfo.value)


@pytest.mark.parametrize("raw", ["redis://cache:port/0", "redis://cache:99999/0"])
def test_env_url_rejects_bad_port_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable() as excinfo:
        env_url(NAME, schemes=("redis",))
    assert "invalid port" in str(excinfo.value)


# --- env_secret --------------------------------------------------------------------------------


def test_env_secret_accepts_a_long_enough_value(monkeypatch):
    monkeypatch.setenv(NAME, "s" * 32)
    assert env_secret(NAME, min_length=32) == "s" * 32


def test_env_secret_rejects_too_short_value_naming_the_variable(monkeypatch):
    monkeypatch.setenv(NAME, "short-secret")
    with raises_naming_variable() as excinfo:
        env_secret(NAME, min_length=32)
    message = str(excinfo.value)
    assert "at least 32 characters" in message
    # The message goes to logs; it must not carry the secret itself.
    assert "short-secret" not in message


def test_env_secret_checks_the_default_too():
    with raises_naming_variable():
        env_secret(NAME, "too-short-default", min_length=32)


def test_env_url_never_repeats_a_password_in_its_error(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:hunter2@db:abc/x")
    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_url("DATABASE_URL", schemes=("postgres",))
    assert "hunter2" not in str(excinfo.value)
    assert "DATABASE_URL" in str(excinfo.value)


def test_env_url_rejects_a_scheme_without_slashes(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis:localhost")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env_url("REDIS_URL", schemes=("redis",))


# --- env_times ---------------------------------------------------------------------------------


def test_env_times_reads_times_of_day(monkeypatch):
    monkeypatch.setenv(NAME, "22:00, 06:00,14:30")
    assert env_times(NAME) == ["22:00", "06:00", "14:30"]


@pytest.mark.parametrize("raw", ["", "8:00", "24:00", "08:60", "08:00,08:00", "noon"])
def test_env_times_rejects_what_is_not_distinct_times_of_day_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with raises_naming_variable():
        env_times(NAME)
