"""What the music itself shows (demo.musicwords): features of small hand-written scores, and their
phrases in every language of the embedded default."""

from __future__ import annotations

import random

import pytest
from music21 import converter, stream

from demo.languages import LANGUAGES
from demo.musicwords import KEYS, PHRASES, _independence, analyse, music_phrases


def tiny(notes: str, metre: str = "4/4"):
    return converter.parse(f"tinyNotation: {metre} {notes}")


def abc(body: str, metre: str = "4/4", key: str = "C") -> stream.Score:
    return converter.parse(f"X:1\nM:{metre}\nL:1/4\nK:{key}\n{body}\n", format="abc")


def test_a_scale_up_a_fifth_and_down_is_a_stepwise_major_melody_in_a_narrow_range_ending_on_the_tonic():
    features = analyse(tiny("c4 d e f g2 f4 e d e d c c1"))
    assert features["mode"] == "major" and features["motion"] == "stepwise" and features["steps"] == 1.0
    assert features["ambitus"] == 7 and features["range"] == "narrow"
    assert features["tonic_end"] is True and features["pentatonic"] is False
    assert features["texture"] == "monophonic" and features["voices"] == 1 and features["upbeat"] is False
    assert features["rhythm"] == "even" and features["density"] == "sparse"  # 15 notes in 16 quarters


def test_arpeggios_are_a_leaping_melody_in_a_wide_range():
    features = analyse(tiny("c8 e g c' e' c' g e c e g c' e' g' e' c'"))
    assert features["motion"] == "leaping" and features["steps"] == 0.0
    assert features["ambitus"] == 19 and features["range"] == "wide" and features["density"] == "dense"


def test_a_tune_in_a_minor_with_its_leading_tone_is_minor():
    features = analyse(tiny("a4 b c' d' e'2 f'4 e' d' c' b g# a1"))
    assert features["mode"] == "minor" and features["tonic_end"] is True


def test_a_tune_on_d_with_b_natural_and_c_natural_is_dorian():
    features = analyse(tiny("d4 e f g a2 b4 a g f e c d e f e d1"))
    assert features["mode"] == "dorian"


def test_a_tune_on_g_with_f_natural_is_mixolydian_though_its_notes_are_those_of_c_major():
    features = analyse(abc("G A B c | d e =f d | c B A =F | G4 |]", key="G"))
    assert features["mode"] == "mixolydian"


def test_a_tune_on_e_with_f_natural_is_phrygian():
    features = analyse(tiny("e4 f g a b2 a4 g f e g f e2 f4 e e1"))
    assert features["mode"] == "phrygian" and features["tonic_end"] is True


def test_a_major_tune_ending_on_its_dominant_is_major_and_does_not_end_on_the_tonic():
    features = analyse(tiny("c2 e4 g c'2 b4 a g f e d c2 e4 d g2"))
    assert features["mode"] == "major" and features["tonic_end"] is False


def test_a_tune_without_a_fifth_above_its_final_has_no_mode():
    features = analyse(tiny("e4 f g a g f e2 f4 g f e1"))  # E..A, ends on E: a fragment
    assert "mode" not in features and "tonic_end" not in features


def test_a_pentatonic_tune_is_found_and_says_nothing_of_a_tonic_it_cannot_know():
    features = analyse(tiny("d4 e g a c'2 a4 g e d e g a g e d1"))
    assert features["pentatonic"] is True and "tonic_end" not in features
    assert not analyse(tiny("c4 d e f g a b c'"))["pentatonic"]


def test_dotted_rhythms_and_an_upbeat():
    features = analyse(abc("G/ | c3/ d/ e3/ f/ | g3/ f/ e3/ d/ | c3 |]"))
    assert features["rhythm"] == "dotted" and features["dotted"] == 0.5  # 5 of 10 notes
    assert features["upbeat"] is True
    assert analyse(abc("c d e f | g4 | c4 |]"))["upbeat"] is False


def test_a_four_part_chorale_with_passing_notes_is_counterpoint_for_four_voices():
    chorale = abc(
        "V:1\ne d c d | e e e2 | d d e d | c4 |]\n"
        "V:2\nG G/A/ G B | c B c2 | B/A/ G G G/F/ | E4 |]\n"
        "V:3\nc/d/ e/f/ g g | g/f/ e/d/ c2 | d/e/ f/g/ c B | G4 |]\n"
        "V:4\nC/D/ E/F/ G/F/ E/D/ | C/D/ E/G/ C2 | G,/A,/ B,/C/ A,/B,/ G, | C4 |]")
    features = analyse(chorale)
    assert features["voices"] == 4 and features["texture"] == "polyphonic" and features["independence"] > 0.4
    assert features["mode"] == "major" and features["tonic_end"] is True


def test_voices_moving_together_are_homophonic_and_one_staff_of_chords_is_chordal():
    block = abc("V:1\ne d c d | e e e2 |]\nV:2\nc B A B | c c c2 |]\nV:3\nG G E G | G G G2 |]\nV:4\nC G, A, G, | C C C2 |]")
    features = analyse(block)
    assert features["voices"] == 4 and features["texture"] == "homophonic" and features["independence"] == 0.0
    chords = analyse(abc("[CEG] [DFA] [EGc] [DFB] | [CEGc]4 |]"))
    assert chords["texture"] == "chordal" and chords["voices"] == 1


def test_odd_scores_give_what_can_be_computed_and_never_raise():
    assert analyse(stream.Score()) == {}
    assert analyse(None) == {}
    assert analyse(tiny("r1 r1")) == {}
    one = analyse(tiny("c1"))
    assert one["ambitus"] == 0 and "motion" not in one and "mode" not in one  # too short to say


def test_independence_equals_a_loop_over_every_onset():
    rng = random.Random(0)
    for _ in range(20):
        parts = []
        for _ in range(rng.randint(2, 4)):
            notes, onset = [], rng.choice([0.0, 0.5])
            while onset < 16:
                duration = rng.choice([0.5, 1.0, 1.0, 2.0])
                if rng.random() < 0.8:
                    notes.append((onset, duration, [60]))
                onset += duration
            parts.append(notes)
        onsets = sorted({onset for notes in parts for onset, _, _ in notes})
        independent = 0
        for t in onsets:
            sounding = sum(any(a <= t < a + d for a, d, _ in notes) for notes in parts)
            struck = sum(any(a == t for a, _, _ in notes) for notes in parts)
            independent += struck < sounding
        assert _independence(parts) == pytest.approx(independent / len(onsets))


def test_every_language_names_every_feature():
    assert set(PHRASES) == set(LANGUAGES)
    for lang, phrases in PHRASES.items():
        assert len(phrases) == len(KEYS), lang
        assert all(p.strip() and "{" not in p and "}" not in p for p in phrases), lang
        assert len(set(phrases)) == len(phrases), lang  # no two features worded alike


def test_phrases_follow_the_features_in_each_language():
    features = {"mode": "dorian", "pentatonic": False, "tonic_end": True, "range": "narrow", "motion": "stepwise",
                "density": "moderate", "rhythm": None, "texture": "monophonic", "voices": 1, "upbeat": True}
    assert music_phrases(features, "en") == ["in the Dorian mode", "within a narrow range", "a stepwise melody",
                                             "a single unaccompanied line", "starting with an upbeat", "ending on the tonic"]
    assert music_phrases(features, "de")[:3] == ["im dorischen Modus", "mit kleinem Tonumfang", "eine schrittweise Melodie"]
    for lang in LANGUAGES:
        assert len(music_phrases(features, lang)) == 6
        assert len(music_phrases(analyse(tiny("c4 d e f g2 f4 e d e d c c1")), lang)) >= 5
    assert music_phrases({}, "fr") == []
    with pytest.raises(ValueError, match="'xx'"):
        music_phrases(features, "xx")
