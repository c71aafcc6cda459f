"""Password policy for new accounts: length, not blank, not guessable, not the e-mail name.

Guessability comes from zxcvbn (Dropbox's estimator, Python port): it checks the password
against bundled frequency lists (common passwords, names, English words, TV and film) plus keyboard
patterns, repeats, sequences and dates, and explains a refusal in words we can show the advisor.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 12
# zxcvbn's 0-4 scale: 3 is "safely unguessable" (about 10^8 guesses or more).
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); the first 72 characters decide.
_ZXCVBN_MAX = 72
# A shorter e-mail name ("al@…") would forbid too many innocent passwords to be worth checking.
_MIN_NAME_CHECKED = 3
_CONTEXT_WORDS = ("sigmasight", "sigma", "portfolio", "advisor")


class WeakPassword(ValueError):
    """The password breaks the policy; the message says why, in words for the advisor."""


def check_password(password: str, email: str = "") -> None:
    """Raise :class:`WeakPassword` unless ``password`` meets the policy for the account ``email``.

    Parameters
    ----------
    password : str
        The proposed password, exactly as typed (no trimming: spaces are characters).
    email : str, optional
        The account's e-mail address; its local part may not appear in the password.
    """
    if not password or password.isspace():
        raise WeakPassword("The password cannot be empty or only spaces.")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"The password must be at least {MIN_LENGTH} characters long (it has {len(password)})."
        )
    name = email.partition("@")[0].strip().lower()
    if len(name) >= _MIN_NAME_CHECKED and name in password.lower():
        raise WeakPassword("The password must not contain your e-mail name.")
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[name, email.lower(), *_CONTEXT_WORDS])
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        reasons = " ".join(
            filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])])
        )
        raise WeakPassword(
            "The password is too easy to guess" + (f": {reasons}" if reasons else ".")
        )
