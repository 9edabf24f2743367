"""The SNS subject and message fit SNS's rules, whatever the event carries."""

from hypothesis import given
from hypothesis import strategies as st
from rollout.notifications.messages import (
    SNS_MESSAGE_MAX_BYTES,
    SNS_SUBJECT_MAX,
    human_message,
    sns_message,
    sns_subject,
)


def _detail(**overrides: object) -> dict[str, object]:
    detail: dict[str, object] = {
        "event": "Rollout Rolled Back",
        "endpoint_name": "churn-prod",
        "model_package_group": "churn",
        "model_package_version": 7,
        "strategy": "canary",
        "step": 1,
        "steps": 2,
        "weight_percent": 10,
        "reason": "alarm churn-5xx fired",
    }
    detail.update(overrides)
    return detail


def test_a_long_subject_is_cut_below_100_characters_and_says_so():
    subject, _ = human_message(_detail(model_package_group="g" * 63, endpoint_name="e" * 63))
    assert len(subject) == SNS_SUBJECT_MAX < 100
    assert subject.startswith("Rollout Rolled Back: ggg") and subject.endswith("...")


def test_a_subject_of_exactly_99_characters_is_kept_whole():
    text = "x" * 99
    assert sns_subject(text) == text
    assert sns_subject("x" * 100) == "x" * 96 + "..."


def test_line_breaks_and_control_characters_never_reach_the_subject():
    subject, _ = human_message(_detail(endpoint_name="churn\nprod\t\x00x", event="Rollout Rejected"))
    assert subject == "Rollout Rejected: churn v7 -> churn prod x"
    assert sns_subject("a\u2028b\r\nc") == "a b c"


@given(st.text())
def test_any_text_becomes_a_subject_sns_accepts(text):
    subject = sns_subject(text)
    assert len(subject) <= SNS_SUBJECT_MAX
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in subject)
    assert subject == subject.strip()


def test_a_message_over_256_kb_is_cut_to_fit_and_marked():
    message = sns_message("é" * SNS_MESSAGE_MAX_BYTES)
    assert len(message.encode("utf-8")) <= SNS_MESSAGE_MAX_BYTES
    assert message.endswith("(cut to SNS's 256 KB message limit)")
    assert sns_message("short") == "short"
