import pytest

from shared.strength import StrengthRange, parse_strength


@pytest.mark.parametrize("text, expected", [("0.1:0.3", (0.1, 0.3)), ("0.2", (0.2, 0.2)), (" 0:1 ", (0.0, 1.0))])
def test_valid_strengths(text, expected):
    assert parse_strength(text) == StrengthRange(*expected)


@pytest.mark.parametrize(
    "text, message",
    [("-0.1", "negative"), ("0.3:0.1", "lower bound above"), ("a:b", "not a number"), ("0.1:0.2:0.3", "malformed"),
     (":0.2", "malformed"), ("nan", "finite")],
)
def test_invalid_strengths(text, message):
    with pytest.raises(ValueError, match=message):
        parse_strength(text)
