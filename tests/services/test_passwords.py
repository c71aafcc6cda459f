"""services.passwords: the account policy (no database; the weak/strong lists live in
tests/security/test_bad_input.py, these pin the edges of each rule)."""

from __future__ import annotations

import pytest

from webapp.services.passwords import MIN_LENGTH, WeakPassword, check_password


def test_weak_password_is_a_value_error():
    """Callers that catch ValueError (the CLI, the forms) show the reason."""
    assert issubclass(WeakPassword, ValueError)


@pytest.mark.parametrize("password", ["", " ", "\t\n", " " * 40])
def test_empty_or_blank_is_refused_first(password):
    with pytest.raises(WeakPassword, match=r"^The password cannot be empty or only spaces\.$"):
        check_password(password)


def test_length_is_counted_exactly_and_reported():
    short = "Kq7#vLm2pZr"  # 11 characters, otherwise strong
    assert len(short) == MIN_LENGTH - 1
    with pytest.raises(WeakPassword, match=rf"at least {MIN_LENGTH} characters long \(it has 11\)"):
        check_password(short)
    check_password(short + "x")  # 12 is enough


def test_spaces_count_as_characters():
    check_password("  Kq7#vLm2pZ  ")


def test_email_name_check_ignores_case_and_names_under_three_letters():
    with pytest.raises(WeakPassword, match="e-mail name"):
        check_password("Kq7#vLm2-MARGOT", "margot@example.com")
    check_password("Kq7#vLm2-al-Zr", "al@example.com")  # "al" is too short to forbid


def test_context_words_count_against_guessability():
    with pytest.raises(WeakPassword, match="too easy to guess"):
        check_password("SigmaSightPortfolio")


def test_guessable_refusal_explains_itself():
    with pytest.raises(WeakPassword) as refused:
        check_password("qwertyuiopasdf")
    message = str(refused.value)
    assert message.startswith("The password is too easy to guess")
    assert len(message) > len("The password is too easy to guess.")  # zxcvbn's reasons follow


def test_a_long_password_is_judged_on_its_first_characters():
    """zxcvbn would refuse (and be quadratic on) longer input; the policy truncates instead."""
    check_password("Kq7#vLm2pZr!" * 50)
