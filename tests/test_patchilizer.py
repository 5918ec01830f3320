import numpy as np

from clamp3.models.patchilizer import BOS_ID, EOS_ID, PAD_ID, Patchilizer, split_bars


def test_bars_keep_their_barlines_and_drop_trailing_text():
    assert split_bars("[V:1]abc|def:|\n") == ["[V:1]abc|", "def:|"]
    assert split_bars("|:ab|cd||\n") == ["|:ab|", "cd||"]
    assert split_bars("no barline here\n") == []
    assert split_bars("|") == []


def test_abc_units_fields_bars_and_removed_unit_length():
    text = "L:1/8\nM:4/4\nK:C\n%%score 1\n[V:1]CD|EF|\n"
    assert Patchilizer().units(text) == ["M:4/4\n", "K:C\n", "%%score 1\n", "[V:1]CD|", "EF|\n"]


def test_mtf_merges_consecutive_messages_of_one_type_while_they_fit():
    text = "ticks_per_beat 480\nnote_on 0 0 60 80\nnote_on 0 0 64 80\nnote_off 120 0 60 0\nend_of_track 0"
    units = Patchilizer().units(text)
    assert units == ["ticks_per_beat 480\n", "note_on 0 0 60 80\t0 0 64 80\n", "note_off 120 0 60 0\n", "end_of_track 0"]
    # a unit never grows past patch_size - 2 characters by merging
    long = "ticks_per_beat 480\n" + "\n".join(["note_on 0 0 60 80"] * 50)
    assert all(len(u) <= 62 for u in Patchilizer().units(long)[1:])


def test_special_patches_are_built_like_units():
    patches = Patchilizer().encode("[V:1]C|\n")
    assert patches.shape == (3, 64)
    assert (patches[0] == BOS_ID).all()
    # the closing patch is BOS followed by EOS codes, as M3 was trained
    assert patches[-1][0] == BOS_ID and (patches[-1][1:] == EOS_ID).all()
    assert list(patches[1][:10]) == [BOS_ID, *map(ord, "[V:1]C|\n"), EOS_ID]
    assert (patches[1][10:] == PAD_ID).all()


def test_non_ascii_is_transliterated_and_long_units_are_cut():
    patches = Patchilizer(patch_size=8).encode('"Café"ab|\n', add_special_patches=False)
    assert patches.max() < 128
    # BOS + 7 characters: the EOS and the rest of the bar do not fit
    assert np.array_equal(patches[0], [BOS_ID, *map(ord, '"Cafe"a')])
    assert Patchilizer.decode(patches) == '"Cafe"a'


def test_encode_equals_unit_by_unit_patches_at_every_length():
    """The vectorised encode against unit_to_patch, the one-unit definition, around the cut:
    units shorter than, equal to and longer than patch_size - 2 (where EOS stops fitting)."""
    size = 8
    units = ["", "a", "ab|", "x" * (size - 3), "y" * (size - 2), "z" * (size - 1), "w" * size, "v" * 3 * size]
    text = "".join(unit + "|\n" for unit in units) + "ticks"
    patchilizer = Patchilizer(patch_size=size)
    for special in (True, False):
        expected = [patchilizer.unit_to_patch(u) for u in patchilizer.units(text)]
        if special:
            expected = [patchilizer.unit_to_patch(chr(BOS_ID) * size), *expected, patchilizer.unit_to_patch(chr(EOS_ID) * size)]
        got = patchilizer.encode(text, add_special_patches=special)
        assert got.dtype == np.int64 and got.tolist() == expected
    assert patchilizer.encode("", add_special_patches=False).shape == (0, size)
