from services.messaging.segments import count_segments


def test_plain_french_text_fits_gsm7_and_takes_one_segment_up_to_160_characters():
    text = "Bonjour Mme Dupont, votre rendez-vous à l'agence est confirmé à 14h. A demain !"
    assert count_segments(text).encoding == "GSM-7"
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2


def test_split_gsm7_text_takes_153_characters_per_segment():
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_extension_characters_such_as_the_euro_sign_count_twice():
    counted = count_segments("Total : 80 €" + "a" * 148)
    assert (counted.encoding, counted.units, counted.segments) == ("GSM-7", 161, 2)


def test_a_character_outside_gsm7_switches_the_whole_text_to_ucs2():
    counted = count_segments("Reçu, merci")  # lower-case ç is not in the GSM alphabet
    assert counted.encoding == "UCS-2"
    assert count_segments("ç" * 70).segments == 1
    assert count_segments("ç" * 71).segments == 2
    assert count_segments("ç" * 134).segments == 2
    assert count_segments("ç" * 135).segments == 3


def test_an_emoji_takes_two_ucs2_units():
    counted = count_segments("👍" * 35)
    assert (counted.units, counted.segments) == (70, 1)
    assert count_segments("👍" * 36).segments == 2


def test_empty_text_takes_no_segment():
    assert count_segments("").segments == 0
