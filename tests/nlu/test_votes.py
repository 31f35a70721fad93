"""How the ensemble of DIET members combines their intents (nlu/xijin_nlu/votes.py)."""

from __future__ import annotations

import sys

import pytest

from community.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "nlu"))

from xijin_nlu.votes import average_rankings


def ranking(**confidences: float) -> list[dict[str, object]]:
    return [{"name": name, "confidence": value} for name, value in confidences.items()]


def test_one_member_keeps_its_ranking() -> None:
    assert average_rankings([ranking(affirm=0.7, deny=0.3)]) == ranking(affirm=0.7, deny=0.3)


def test_a_confident_member_outvotes_a_hesitant_one() -> None:
    # Member 1 barely prefers deny; member 2 is sure of affirm: the mean says affirm.
    mean = average_rankings([ranking(deny=0.55, affirm=0.45), ranking(affirm=0.9, deny=0.1)])

    assert [entry["name"] for entry in mean] == ["affirm", "deny"]
    assert mean[0]["confidence"] == pytest.approx(0.675)
    assert mean[1]["confidence"] == pytest.approx(0.325)


def test_a_label_one_member_did_not_rank_counts_zero_there() -> None:
    mean = average_rankings([ranking(greet=0.8, thank=0.2), ranking(greet=0.6, goodbye=0.4)])

    assert {entry["name"]: entry["confidence"] for entry in mean} == pytest.approx(
        {"greet": 0.7, "goodbye": 0.2, "thank": 0.1}
    )


def test_ties_are_broken_by_name_whatever_the_order_of_the_members() -> None:
    one, two = ranking(faq=0.6, deny=0.4), ranking(deny=0.6, faq=0.4)

    assert average_rankings([one, two]) == average_rankings([two, one])
    assert [entry["name"] for entry in average_rankings([one, two])] == ["deny", "faq"]


def test_no_members_no_ranking() -> None:
    assert average_rankings([]) == []


def test_a_weighted_vote_counts_as_that_many_members() -> None:
    # Three members say deny, one says affirm; weighted 3, the one weighs as much as the three together.
    deny = ranking(deny=0.8, affirm=0.2)
    mean = average_rankings([deny, deny, deny, ranking(affirm=0.9, deny=0.1)], weights=[1, 1, 1, 3])

    assert [entry["name"] for entry in mean] == ["affirm", "deny"]
    assert mean[0]["confidence"] == pytest.approx((3 * 0.2 + 3 * 0.9) / 6)


def test_weights_must_match_the_rankings() -> None:
    with pytest.raises(ValueError, match="one positive weight per ranking"):
        average_rankings([ranking(affirm=1.0)], weights=[1, 2])
    with pytest.raises(ValueError, match="one positive weight per ranking"):
        average_rankings([ranking(affirm=1.0)], weights=[0])
