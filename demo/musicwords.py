"""What a score sounds like, in words: features computed from the notes themselves (mode, range,
melodic motion, note values, texture, upbeat, final) and short phrases naming them in every
language of ``demo.languages``.

The first edition's captions named key, metre and bar count, which the ABC also spells out in its
``K:``/``M:`` lines, and the model's space is organised by them (an item's ten nearest neighbours
share its key and metre 96% of the time, its region 67%). These features describe the music instead.

    features = analyse(score)            # JSON-able dict, kept in works.jsonl as work["music"]
    music_phrases(features, "de")        # ["in Moll", "eine schrittweise Melodie", ...]
    music_phrases(work.get("music", {}), lang)   # from a works.jsonl record
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

# Krumhansl & Kessler's key profiles (probe-tone ratings, tonic first)
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_CLEAR = 0.05  # share of the sounding time of the altered degree that makes a church mode
_PRESENT = 0.03  # share of the sounding time below which a scale degree counts as absent (ornaments, passing notes)

# Thresholds, set on the corpus (``python -m benchmarks.musicwords``): the top voice's median
# range is 12 semitones in the European folk songs, 14.5 in the Chinese, 13 in the composers'
# works and 19 in the fiddle tunes; its median density 1.25 notes per quarter in German songs,
# 1.9 in Chinese songs and fiddle tunes, 0.8 in the composers' works.
NARROW_RANGE, WIDE_RANGE = 9, 17  # semitones of the top voice: <= narrow, >= wide
STEPWISE, LEAPING = 0.7, 0.45  # share of steps among the melody's moves (repeated notes left out)
SPARSE, DENSE = 1.0, 2.0  # notes of the top voice per quarter note
DOTTED = 0.12  # share of the top voice's notes that are dotted
EVEN = 0.6  # share of the most common note value above which the rhythm is even
HOMOPHONIC = 0.3  # share of onsets not struck by every sounding voice, below which voices move together
CHORDAL = 0.2  # share of a part's onsets that are chords, above which it accompanies in chords


def _notes(part) -> list[tuple[float, float, list[int]]]:
    """(onset, duration, MIDI pitches) of each onset of a part: ties merged, grace notes left out,
    notes struck together (a chord, or the part's inner voices) as one event."""
    events: dict[float, tuple[float, list[int]]] = {}
    last: float | None = None
    for element in part.flatten().notes:
        length = float(element.quarterLength)
        if length <= 0:
            continue
        if element.tie is not None and element.tie.type in ("stop", "continue") and last is not None:
            duration, pitches = events[last]
            events[last] = (duration + length, pitches)
            continue
        onset = float(element.offset)
        duration, pitches = events.get(onset, (0.0, []))
        events[onset] = (max(duration, length), pitches + [int(p.midi) for p in element.pitches])
        last = onset
    return [(onset, duration, sorted(set(pitches))) for onset, (duration, pitches) in sorted(events.items()) if pitches]


def _parts(score) -> list:
    parts = list(getattr(score, "parts", None) or [])
    return parts or [score]


def _key(histogram: np.ndarray) -> tuple[int, str]:
    """Krumhansl-Schmuckler: the (tonic pitch class, 'major'|'minor') whose profile correlates best."""
    best, best_r = (0, "major"), -2.0
    for tonic in range(12):
        rotated = np.roll(histogram, -tonic)
        for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
            r = float(np.corrcoef(rotated, profile)[0, 1])
            if r > best_r:
                best, best_r = (tonic, mode), r
    return best


def _mode(degrees: np.ndarray) -> str | None:
    """The mode above the final from the share of sounding time of each degree (0 = the final):
    the third decides major or minor; the seventh, sixth and second the church mode. None when the third or the fifth is absent, both thirds sound or the fourth is
    raised (no reliable answer)."""
    major3, minor3 = degrees[4], degrees[3]
    if max(major3, minor3) < _PRESENT or (major3 < 2 * minor3 and minor3 < 2 * major3):
        return None
    if degrees[7] < _PRESENT:  # no fifth above the final: a fragment ending on the third, say, not a mode
        return None

    def clearly(degree: int, instead: int) -> bool:  # an altered degree that sounds, and twice as long as the usual one
        return degrees[degree] >= _CLEAR and degrees[degree] >= 2 * degrees[instead]

    if major3 > minor3:
        if clearly(10, 11):
            return "mixolydian"
        # a raised fourth: lydian, or far more often a major tune ending on its subdominant
        return None if clearly(6, 5) else "major"
    if clearly(1, 2):
        return "phrygian"
    # a natural sixth with a natural seventh; the melodic minor's raised sixth comes with a raised seventh
    if clearly(9, 8) and degrees[10] >= degrees[11]:
        return "dorian"
    return "minor"


def _pentatonic(histogram: np.ndarray) -> bool:
    """Five pitch classes, no semitone between any two (the anhemitonic scale of Chinese and much
    Scottish and Irish music); degrees under 3% of the time (passing ornaments) are left out."""
    present = [pc for pc in range(12) if histogram[pc] >= _PRESENT]
    return len(present) == 5 and all((b - a) % 12 != 1 for a in present for b in present)


def _independence(parts_notes: list[list[tuple[float, float, list[int]]]]) -> float:
    """Share of the onsets at which some voice that sounds then does not strike a new note: 0 for
    block chords, near 1 for free counterpoint."""
    onsets = np.unique(np.concatenate([[onset for onset, _, _ in notes] for notes in parts_notes]))
    sounding = np.zeros(len(onsets), dtype=int)
    struck = np.zeros(len(onsets), dtype=int)
    for notes in parts_notes:
        starts = np.array([onset for onset, _, _ in notes])
        ends = starts + np.array([duration for _, duration, _ in notes])
        index = np.searchsorted(starts, onsets, side="right") - 1  # the part's note at or before each onset
        held = (index >= 0) & (ends[np.maximum(index, 0)] > onsets + 1e-6)
        sounding += held
        struck += held & np.isclose(starts[np.maximum(index, 0)], onsets)
    return float(np.mean(struck < sounding))


def analyse(score) -> dict:
    """Features of a music21 score (Score, Part or Opus-free stream); each one that cannot be
    computed is left out, so an odd score gives a smaller dict rather than an error.

    Keys: ``mode`` (major, minor, dorian, mixolydian, phrygian), ``pentatonic``, ``tonic_end``
    (the final, the lowest note of the last sound, is the tonic of the mode found), ``range`` (narrow, medium, wide; with
    ``ambitus`` in semitones), ``motion`` (stepwise, mixed, leaping; ``steps``: share of steps),
    ``density`` (sparse, moderate, dense; ``notes_per_quarter``), ``rhythm`` (dotted, even or
    None), ``voices``, ``texture`` (monophonic, chordal, homophonic, polyphonic), ``upbeat``."""
    features: dict = {}
    try:
        parts = _parts(score)
        parts_notes = [notes for notes in (_notes(p) for p in parts) if notes]
    except Exception as exc:  # music21 on a malformed stream: nothing can be said of it
        logger.debug("no notes read: %s", exc)
        return features
    if not parts_notes:
        return features
    for name, compute in (("pitch", _pitch_features), ("melody", _melody_features), ("texture", _texture_features)):
        try:
            features.update(compute(parts_notes))
        except Exception as exc:  # one feature failing leaves the others
            logger.debug("%s features failed: %s", name, exc)
    try:
        upbeat = _upbeat(parts[0])
        if upbeat is not None:
            features["upbeat"] = upbeat
    except Exception as exc:
        logger.debug("upbeat failed: %s", exc)
    return features


def _pitch_features(parts_notes) -> dict:
    histogram = np.zeros(12)
    for notes in parts_notes:
        for _, duration, pitches in notes:
            for pitch in pitches:
                histogram[pitch % 12] += duration
    histogram /= histogram.sum()
    end = max(onset + duration for notes in parts_notes for onset, duration, _ in notes)
    # the final: the lowest note among each voice's last one that lasts to the end
    lasts = [notes[-1] for notes in parts_notes if abs(notes[-1][0] + notes[-1][1] - end) < 1e-6]
    final = min(pitch for _, _, pitches in lasts for pitch in pitches) % 12
    tonic, key_mode = _key(histogram)
    # A melody's final is the tonic of its mode (D in D dorian, where the key profiles find C
    # major), unless it is the fifth of the key found, or the third of a major one, and sounds
    # less than the key's tonic: a major tune ending on its dominant, not a mixolydian one (nor a
    # phrygian one on the third). In several voices a bass ending on the fifth is a half cadence.
    above = (final - tonic) % 12
    off_tonic = above == 7 or (key_mode == "major" and above == 4)
    reference = tonic if off_tonic and (len(parts_notes) > 1 or histogram[tonic] >= histogram[final]) else final
    pentatonic = _pentatonic(histogram)
    out: dict = {"pentatonic": pentatonic}
    mode = _mode(np.roll(histogram, -reference))
    if mode is not None:
        out["mode"] = mode
        # without a mode there is no tonic to speak of; a pentatonic tune's final is its mode's
        # tonic by definition, whatever major or minor key the profiles find for it
        if not pentatonic:
            out["tonic_end"] = final == reference
    return out


def _melody_features(parts_notes) -> dict:
    melody = [(onset, duration, pitches[-1]) for onset, duration, pitches in parts_notes[0]]  # the top voice
    pitches = [pitch for _, _, pitch in melody]
    ambitus = max(pitches) - min(pitches)
    out: dict = {"ambitus": ambitus, "range": "narrow" if ambitus <= NARROW_RANGE else "wide" if ambitus >= WIDE_RANGE else "medium"}
    moves = [abs(b - a) for a, b in zip(pitches, pitches[1:]) if b != a]
    if len(moves) >= 4:
        steps = sum(move <= 2 for move in moves) / len(moves)
        out["steps"] = round(steps, 3)
        out["motion"] = "stepwise" if steps >= STEPWISE else "leaping" if steps < LEAPING else "mixed"
    length = melody[-1][0] + melody[-1][1] - melody[0][0]
    if length > 0 and len(melody) >= 4:
        density = len(melody) / length
        out["notes_per_quarter"] = round(density, 3)
        out["density"] = "sparse" if density < SPARSE else "dense" if density >= DENSE else "moderate"
        durations = [round(duration, 4) for _, duration, _ in melody]
        dotted = sum(_is_dotted(d) for d in durations) / len(durations)
        common = max(durations.count(d) for d in set(durations)) / len(durations)
        out["dotted"] = round(dotted, 3)
        out["rhythm"] = "dotted" if dotted >= DOTTED else "even" if common >= EVEN else None
    return out


def _is_dotted(length: float) -> bool:
    """A dotted (or double-dotted) note value: 3/2 or 7/4 of a power of two quarter lengths."""
    for factor in (1.5, 1.75):
        base = length / factor
        exponent = np.log2(base)
        if abs(exponent - round(exponent)) < 1e-6:
            return True
    return False


def _texture_features(parts_notes) -> dict:
    voices = len(parts_notes)
    chords = max(sum(len(p) > 1 for _, _, p in notes) / len(notes) for notes in parts_notes)
    if chords >= CHORDAL:
        texture = "chordal"
    elif voices == 1:
        texture = "monophonic"
    else:
        independence = _independence(parts_notes)
        texture = "homophonic" if independence < HOMOPHONIC else "polyphonic"
        return {"voices": voices, "texture": texture, "independence": round(independence, 3)}
    return {"voices": voices, "texture": texture}


def _upbeat(part) -> bool | None:
    """Whether the music starts with an anacrusis: a first bar shorter than the time signature's."""
    measures = list(part.getElementsByClass("Measure"))
    if len(measures) < 2:
        return None
    first = measures[0]
    signature = first.timeSignature or next(iter(part.recurse().getElementsByClass("TimeSignature")), None)
    if signature is None:
        return None
    bar = float(signature.barDuration.quarterLength)
    return float(first.paddingLeft) > 0 or float(first.duration.quarterLength) < bar - 1e-6


# --- phrases ------------------------------------------------------------------------------------
# One phrase per feature value, in KEYS order, per language: written as a musician of that
# language would say it (the terms of its music schools: "conjoint/disjoint" in French,
# "Auftakt" in German, "못갖춘마디" in Korean, "birama gantung" in Indonesian).
KEYS = (
    "major", "minor", "dorian", "mixolydian", "phrygian", "pentatonic",
    "narrow", "medium", "wide", "stepwise", "mixed", "leaping", "sparse", "dense", "dotted", "even",
    "monophonic", "chordal", "homophonic", "polyphonic", "upbeat", "tonic_end", "open_end",
)
PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("in a major key", "in a minor key", "in the Dorian mode", "in the Mixolydian mode", "in the Phrygian mode", "on a pentatonic scale",
           "within a narrow range", "within a moderate range", "spanning a wide range",
           "a stepwise melody", "a melody of steps and leaps", "a leaping melody",
           "in long, slow-moving notes", "in quick running notes", "with dotted rhythms", "in an even rhythm",
           "a single unaccompanied line", "a melody with chords", "in block chords", "in counterpoint",
           "starting with an upbeat", "ending on the tonic", "ending away from the tonic"),
    "de": ("in Dur", "in Moll", "im dorischen Modus", "im mixolydischen Modus", "im phrygischen Modus", "auf einer pentatonischen Tonleiter",
           "mit kleinem Tonumfang", "mit mittlerem Tonumfang", "mit großem Tonumfang",
           "eine schrittweise Melodie", "eine Melodie aus Schritten und Sprüngen", "eine sprunghafte Melodie",
           "in langen, ruhigen Notenwerten", "in schnellen Notenläufen", "mit punktierten Rhythmen", "in gleichmäßigem Rhythmus",
           "eine unbegleitete einstimmige Linie", "eine Melodie mit Akkorden", "in Blockakkorden", "kontrapunktisch",
           "mit Auftakt", "endet auf der Tonika", "endet nicht auf der Tonika"),
    "fr": ("en mode majeur", "en mode mineur", "en mode dorien", "en mode mixolydien", "en mode phrygien", "sur une gamme pentatonique",
           "dans un ambitus restreint", "dans un ambitus moyen", "dans un ambitus large",
           "une mélodie conjointe", "une mélodie mêlant mouvements conjoints et sauts", "une mélodie disjointe",
           "en valeurs longues", "en valeurs brèves et rapides", "avec des rythmes pointés", "sur un rythme régulier",
           "une seule ligne sans accompagnement", "une mélodie accompagnée d'accords", "en accords plaqués", "en contrepoint",
           "avec une anacrouse", "se terminant sur la tonique", "ne se terminant pas sur la tonique"),
    "es": ("en modo mayor", "en modo menor", "en modo dórico", "en modo mixolidio", "en modo frigio", "sobre una escala pentatónica",
           "con un ámbito estrecho", "con un ámbito medio", "con un ámbito amplio",
           "una melodía por grados conjuntos", "una melodía de grados conjuntos y saltos", "una melodía a saltos",
           "en valores largos", "en valores breves y rápidos", "con ritmos punteados", "con un ritmo regular",
           "una sola línea sin acompañamiento", "una melodía con acordes", "en acordes en bloque", "en contrapunto",
           "con anacrusa", "termina en la tónica", "no termina en la tónica"),
    "it": ("in modo maggiore", "in modo minore", "in modo dorico", "in modo misolidio", "in modo frigio", "su una scala pentatonica",
           "in un ambito ristretto", "in un ambito medio", "in un ambito ampio",
           "una melodia per grado congiunto", "una melodia di gradi congiunti e salti", "una melodia per salti",
           "in valori lunghi", "in valori brevi e rapidi", "con ritmi puntati", "con un ritmo regolare",
           "una sola linea senza accompagnamento", "una melodia con accordi", "in accordi a blocco", "in contrappunto",
           "con anacrusi", "termina sulla tonica", "non termina sulla tonica"),
    "zh": ("大调", "小调", "多利亚调式", "混合利底亚调式", "弗里几亚调式", "五声音阶",
           "音域狭窄", "音域适中", "音域宽广",
           "级进为主的旋律", "级进与跳进交替的旋律", "跳进较多的旋律",
           "以长时值音符为主", "以快速的短音符为主", "附点节奏", "节奏均匀",
           "无伴奏的单声部旋律", "带和弦伴奏的旋律", "柱式和弦", "复调对位",
           "弱起（以弱拍开始）", "结束于主音", "不结束于主音"),
    "ja": ("長調", "短調", "ドリア旋法", "ミクソリディア旋法", "フリギア旋法", "五音音階",
           "狭い音域", "中程度の音域", "広い音域",
           "順次進行の旋律", "順次進行と跳躍進行が混ざる旋律", "跳躍の多い旋律",
           "長い音価が中心", "速く細かい音符が中心", "付点のリズム", "均等なリズム",
           "無伴奏の単旋律", "和音伴奏のついた旋律", "和音がそろって動くホモフォニー", "対位法的なポリフォニー",
           "弱起（アウフタクト）で始まる", "主音で終わる", "主音以外の音で終わる"),
    "ru": ("в мажоре", "в миноре", "в дорийском ладу", "в миксолидийском ладу", "во фригийском ладу", "на пентатонике",
           "в узком диапазоне", "в среднем диапазоне", "в широком диапазоне",
           "мелодия с поступенным движением", "мелодия с поступенным движением и скачками", "скачкообразная мелодия",
           "в долгих длительностях", "в быстрых мелких длительностях", "с пунктирным ритмом", "в ровном ритме",
           "одноголосная линия без сопровождения", "мелодия с аккордами", "аккордовый склад", "в контрапункте",
           "начинается с затакта", "заканчивается на тонике", "заканчивается не на тонике"),
    "pt": ("em modo maior", "em modo menor", "em modo dórico", "em modo mixolídio", "em modo frígio", "numa escala pentatônica",
           "com um âmbito estreito", "com um âmbito médio", "com um âmbito amplo",
           "uma melodia por graus conjuntos", "uma melodia de graus conjuntos e saltos", "uma melodia em saltos",
           "em valores longos", "em valores curtos e rápidos", "com ritmos pontuados", "com um ritmo regular",
           "uma única linha sem acompanhamento", "uma melodia com acordes", "em acordes em bloco", "em contraponto",
           "com anacruse", "termina na tônica", "não termina na tônica"),
    "nl": ("in majeur", "in mineur", "in de dorische modus", "in de mixolydische modus", "in de frygische modus", "op een pentatonische toonladder",
           "met een klein bereik", "met een gemiddeld bereik", "met een groot bereik",
           "een stapsgewijze melodie", "een melodie met stappen en sprongen", "een melodie met veel sprongen",
           "in lange notenwaarden", "in snelle korte noten", "met gepunteerde ritmes", "in een gelijkmatig ritme",
           "een enkele onbegeleide lijn", "een melodie met akkoorden", "in blokakkoorden", "in contrapunt",
           "met een opmaat", "eindigt op de tonica", "eindigt niet op de tonica"),
    "pl": ("w tonacji durowej", "w tonacji molowej", "w skali doryckiej", "w skali miksolidyjskiej", "w skali frygijskiej", "na skali pentatonicznej",
           "w wąskim ambitusie", "w średnim ambitusie", "w szerokim ambitusie",
           "melodia o ruchu sekundowym", "melodia łącząca ruch sekundowy i skoki", "melodia skokowa",
           "w długich wartościach rytmicznych", "w szybkich, drobnych wartościach", "z rytmami punktowanymi", "w równym rytmie",
           "jedna linia bez akompaniamentu", "melodia z akordami", "w fakturze akordowej", "w kontrapunkcie",
           "zaczyna się od przedtaktu", "kończy się na tonice", "nie kończy się na tonice"),
    "cs": ("v durové tónině", "v mollové tónině", "v dórském modu", "v mixolydickém modu", "ve frygickém modu", "na pentatonické stupnici",
           "v úzkém rozsahu", "ve středním rozsahu", "v širokém rozsahu",
           "krokově postupující melodie", "melodie z kroků a skoků", "skoková melodie",
           "v dlouhých notových hodnotách", "v rychlých drobných hodnotách", "s tečkovaným rytmem", "v rovnoměrném rytmu",
           "jediná linie bez doprovodu", "melodie s akordy", "v akordické sazbě", "v kontrapunktu",
           "začíná předtaktím", "končí na tónice", "nekončí na tónice"),
    "uk": ("у мажорі", "у мінорі", "у дорійському ладі", "у міксолідійському ладі", "у фригійському ладі", "на пентатоніці",
           "у вузькому діапазоні", "у середньому діапазоні", "у широкому діапазоні",
           "мелодія з поступовим рухом", "мелодія з поступовим рухом і стрибками", "мелодія зі стрибками",
           "у довгих тривалостях", "у швидких дрібних тривалостях", "з пунктирним ритмом", "у рівному ритмі",
           "одноголосна лінія без супроводу", "мелодія з акордами", "акордовий склад", "у контрапункті",
           "починається із затакту", "закінчується на тоніці", "закінчується не на тоніці"),
    "el": ("σε μείζονα κλίμακα", "σε ελάσσονα κλίμακα", "σε δώριο τρόπο", "σε μιξολύδιο τρόπο", "σε φρύγιο τρόπο", "σε πεντατονική κλίμακα",
           "με στενή έκταση", "με μέτρια έκταση", "με μεγάλη έκταση",
           "μελωδία με βηματική κίνηση", "μελωδία με βήματα και άλματα", "μελωδία με άλματα",
           "σε μεγάλες αξίες", "σε γρήγορες μικρές αξίες", "με παρεστιγμένους ρυθμούς", "με ομοιόμορφο ρυθμό",
           "μία μόνη γραμμή χωρίς συνοδεία", "μελωδία με συγχορδίες", "σε συμπαγείς συγχορδίες", "σε αντίστιξη",
           "ξεκινά με άρση", "τελειώνει στην τονική", "δεν τελειώνει στην τονική"),
    "tr": ("majör tonda", "minör tonda", "Dor modunda", "Miksolidya modunda", "Frig modunda", "pentatonik dizide",
           "dar bir ses aralığında", "orta genişlikte bir ses aralığında", "geniş bir ses aralığında",
           "adım adım ilerleyen bir ezgi", "adımlar ve atlamalarla ilerleyen bir ezgi", "atlamalı bir ezgi",
           "uzun nota değerleriyle", "hızlı, kısa notalarla", "noktalı ritimlerle", "düzenli bir ritimle",
           "eşliksiz tek bir ezgi çizgisi", "akorlarla eşlik edilen bir ezgi", "blok akorlarla", "kontrpuanlı",
           "anakruzla başlayan", "tonik üzerinde biten", "tonik dışında bir seste biten"),
    "ar": ("في سلم كبير", "في سلم صغير", "في النمط الدوري", "في النمط الميكسوليدي", "في النمط الفريجي", "على سلم خماسي",
           "في مدى صوتي ضيق", "في مدى صوتي متوسط", "في مدى صوتي واسع",
           "لحن يتحرك بالتدرج", "لحن يجمع بين التدرج والقفزات", "لحن كثير القفزات",
           "بقيم زمنية طويلة", "بنغمات قصيرة سريعة", "بإيقاعات منقوطة", "بإيقاع منتظم",
           "خط لحني منفرد بلا مرافقة", "لحن مصحوب بالتآلفات", "بتآلفات عمودية متلاصقة", "بأسلوب الكونترابنط",
           "يبدأ بضربة تمهيدية", "ينتهي على درجة الأساس", "لا ينتهي على درجة الأساس"),
    "hi": ("मेजर स्केल में", "माइनर स्केल में", "डोरियन मोड में", "मिक्सोलिडियन मोड में", "फ्रिजियन मोड में", "पाँच स्वरों वाले पेंटाटोनिक स्केल में",
           "सीमित स्वर-विस्तार में", "मध्यम स्वर-विस्तार में", "विस्तृत स्वर-विस्तार में",
           "क्रमिक चाल वाली धुन", "क्रमिक चाल और छलाँगों वाली धुन", "छलाँगों वाली धुन",
           "लंबे स्वरों में", "तेज़, छोटे स्वरों में", "डॉटेड लय के साथ", "समान लय में",
           "बिना संगत की एकल धुन", "कॉर्ड्स के साथ धुन", "ब्लॉक कॉर्ड्स में", "काउंटरपॉइंट में",
           "अपबीट से शुरू होती है", "टॉनिक पर समाप्त होती है", "टॉनिक पर समाप्त नहीं होती"),
    "ko": ("장조", "단조", "도리아 선법", "믹솔리디아 선법", "프리지아 선법", "5음 음계",
           "좁은 음역", "중간 음역", "넓은 음역",
           "순차 진행 위주의 선율", "순차 진행과 도약 진행이 섞인 선율", "도약이 많은 선율",
           "긴 음가 위주", "빠르고 짧은 음표 위주", "부점 리듬", "고른 리듬",
           "반주 없는 단선율", "화음 반주가 있는 선율", "블록 화음의 호모포니", "대위법적 폴리포니",
           "못갖춘마디로 시작", "으뜸음으로 끝남", "으뜸음이 아닌 음으로 끝남"),
    "vi": ("giọng trưởng", "giọng thứ", "điệu thức Dorian", "điệu thức Mixolydian", "điệu thức Phrygian", "trên thang âm ngũ cung",
           "trong âm vực hẹp", "trong âm vực trung bình", "trong âm vực rộng",
           "giai điệu đi liền bậc", "giai điệu vừa đi liền bậc vừa nhảy quãng", "giai điệu nhiều bước nhảy quãng",
           "với các trường độ dài", "với các nốt ngắn và nhanh", "với tiết tấu chấm dôi", "với tiết tấu đều đặn",
           "một dòng giai điệu đơn không có đệm", "giai điệu có hợp âm đệm", "theo lối hợp âm khối", "theo lối đối âm",
           "bắt đầu bằng ô nhịp lấy đà", "kết thúc ở chủ âm", "không kết thúc ở chủ âm"),
    "id": ("dalam tangga nada mayor", "dalam tangga nada minor", "dalam modus Dorian", "dalam modus Mixolydian", "dalam modus Frigia", "dalam tangga nada pentatonik",
           "dengan wilayah nada sempit", "dengan wilayah nada sedang", "dengan wilayah nada luas",
           "melodi yang bergerak melangkah", "melodi dengan langkah dan lompatan", "melodi yang banyak melompat",
           "dalam nilai not panjang", "dalam not-not pendek yang cepat", "dengan ritme bertitik", "dengan ritme yang rata",
           "satu alur melodi tanpa iringan", "melodi dengan iringan akor", "dalam akor balok", "dalam kontrapung",
           "diawali birama gantung", "berakhir pada nada tonika", "tidak berakhir pada nada tonika"),
    "sv": ("i dur", "i moll", "i dorisk modus", "i mixolydisk modus", "i frygisk modus", "på en pentatonisk skala",
           "med litet omfång", "med medelstort omfång", "med stort omfång",
           "en stegvis melodi", "en melodi med steg och språng", "en språngvis melodi",
           "i långa notvärden", "i snabba, korta notvärden", "med punkterade rytmer", "i jämn rytm",
           "en ensam stämma utan ackompanjemang", "en melodi med ackord", "i blockackord", "i kontrapunkt",
           "börjar med upptakt", "slutar på tonikan", "slutar inte på tonikan"),
    "fi": ("duurissa", "mollissa", "doorisessa moodissa", "miksolyydisessä moodissa", "fryygisessä moodissa", "pentatonisessa asteikossa",
           "suppealla äänialalla", "keskilaajalla äänialalla", "laajalla äänialalla",
           "asteittain etenevä melodia", "askelin ja hypyin etenevä melodia", "hyppivä melodia",
           "pitkin nuotinarvoin", "nopein, lyhyin nuotein", "pisteellisin rytmein", "tasaisessa rytmissä",
           "säestämätön yksiääninen melodia", "melodia sointujen kera", "homofonisessa sointukudoksessa", "kontrapunktisesti",
           "alkaa kohotahdilla", "päättyy toonikaan", "ei pääty toonikaan"),
    "da": ("i dur", "i mol", "i dorisk modus", "i mixolydisk modus", "i frygisk modus", "på en pentatonisk skala",
           "med et snævert toneomfang", "med et middelstort toneomfang", "med et stort toneomfang",
           "en trinvis melodi", "en melodi med trin og spring", "en springende melodi",
           "i lange nodeværdier", "i hurtige, korte noder", "med punkterede rytmer", "i en jævn rytme",
           "en enkelt melodilinje uden akkompagnement", "en melodi med akkorder", "i blokakkorder", "i kontrapunkt",
           "begynder med optakt", "slutter på tonika", "slutter ikke på tonika"),
    "hu": ("dúrban", "mollban", "dór módusban", "mixolíd módusban", "fríg módusban", "pentaton skálán",
           "szűk hangterjedelemmel", "közepes hangterjedelemmel", "nagy hangterjedelemmel",
           "lépésekben haladó dallam", "lépésekből és ugrásokból álló dallam", "sok ugrással haladó dallam",
           "hosszú hangértékekkel", "gyors, rövid hangokkal", "pontozott ritmusokkal", "egyenletes ritmusban",
           "kíséret nélküli egyszólamú dallam", "akkordokkal kísért dallam", "tömbszerű akkordokban", "ellenpontos szerkesztésben",
           "felütéssel kezdődik", "alaphangon zárul", "nem alaphangon zárul"),
    "ro": ("în modul major", "în modul minor", "în modul doric", "în modul mixolidic", "în modul frigic", "pe o scară pentatonică",
           "într-un ambitus restrâns", "într-un ambitus mediu", "într-un ambitus larg",
           "o melodie în mers treptat", "o melodie cu mers treptat și salturi", "o melodie cu multe salturi",
           "în valori lungi", "în valori scurte și rapide", "cu ritmuri punctate", "într-un ritm egal",
           "o singură linie melodică fără acompaniament", "o melodie cu acorduri", "în acorduri compacte", "în contrapunct",
           "începe cu anacruză", "se încheie pe tonică", "nu se încheie pe tonică"),
    "ca": ("en mode major", "en mode menor", "en mode dòric", "en mode mixolidi", "en mode frigi", "sobre una escala pentatònica",
           "amb un àmbit estret", "amb un àmbit mitjà", "amb un àmbit ampli",
           "una melodia per graus conjunts", "una melodia de graus conjunts i salts", "una melodia a salts",
           "en valors llargs", "en valors breus i ràpids", "amb ritmes puntejats", "amb un ritme regular",
           "una sola línia sense acompanyament", "una melodia amb acords", "en acords en bloc", "en contrapunt",
           "comença amb anacrusi", "acaba a la tònica", "no acaba a la tònica"),
    "he": ("בסולם מז'ור", "בסולם מינור", "במודוס הדורי", "במודוס המיקסולידי", "במודוס הפריגי", "בסולם פנטטוני",
           "במנעד צר", "במנעד בינוני", "במנעד רחב",
           "מנגינה הנעה בצעדים", "מנגינה של צעדים וקפיצות", "מנגינה מרובת קפיצות",
           "בערכי תווים ארוכים", "בתווים קצרים ומהירים", "במקצבים מנוקדים", "במקצב אחיד",
           "קו מלודי יחיד ללא ליווי", "מנגינה עם אקורדים", "באקורדים מלאים וצפופים", "בקונטרפונקט",
           "מתחילה באנקרוזה", "מסתיימת בטוניקה", "אינה מסתיימת בטוניקה"),
    "th": ("ในบันไดเสียงเมเจอร์", "ในบันไดเสียงไมเนอร์", "ในโหมดดอเรียน", "ในโหมดมิกโซลิเดียน", "ในโหมดฟริเจียน", "ในบันไดเสียงเพนทาโทนิก",
           "ในช่วงเสียงแคบ", "ในช่วงเสียงปานกลาง", "ในช่วงเสียงกว้าง",
           "ทำนองที่เคลื่อนแบบขั้นต่อขั้น", "ทำนองที่มีทั้งการเคลื่อนขั้นและการกระโดด", "ทำนองที่กระโดดบ่อย",
           "ด้วยโน้ตค่ายาว", "ด้วยโน้ตสั้นและเร็ว", "ด้วยจังหวะโน้ตประจุด", "ด้วยจังหวะสม่ำเสมอ",
           "แนวทำนองเดี่ยวไม่มีดนตรีประกอบ", "ทำนองที่มีคอร์ดประกอบ", "เป็นคอร์ดแบบบล็อก", "แบบเคาน์เตอร์พอยต์",
           "เริ่มด้วยจังหวะยก", "จบที่โน้ตโทนิก", "ไม่จบที่โน้ตโทนิก"),
    "fa": ("در گام ماژور", "در گام مینور", "در مُد دورین", "در مُد میکسولیدین", "در مُد فریژین", "در گام پنتاتونیک",
           "با گستره‌ای محدود", "با گستره‌ای متوسط", "با گستره‌ای وسیع",
           "ملودی‌ای با حرکت پله‌ای", "ملودی‌ای با حرکت پله‌ای و پرش", "ملودی‌ای پرپرش",
           "با کشش‌های بلند", "با نت‌های کوتاه و تند", "با ریتم‌های نقطه‌دار", "با ریتمی یکنواخت",
           "یک خط ملودی تنها بدون همراهی", "ملودی‌ای همراه با آکورد", "با آکوردهای بلوکی", "به شیوهٔ کنترپوان",
           "با آناکروز آغاز می‌شود", "روی تونیک پایان می‌یابد", "روی تونیک پایان نمی‌یابد"),
    "bn": ("মেজর স্কেলে", "মাইনর স্কেলে", "ডোরিয়ান মোডে", "মিক্সোলিডিয়ান মোডে", "ফ্রিজিয়ান মোডে", "পাঁচ স্বরের পেন্টাটোনিক স্কেলে",
           "সংকীর্ণ স্বরপরিসরে", "মাঝারি স্বরপরিসরে", "বিস্তৃত স্বরপরিসরে",
           "ধাপে ধাপে চলা সুর", "ধাপ ও লাফ মেশানো সুর", "লাফিয়ে চলা সুর",
           "দীর্ঘ স্বরমানে", "দ্রুত ছোট ছোট স্বরে", "ডটেড ছন্দে", "সমান ছন্দে",
           "সঙ্গত ছাড়া একক সুররেখা", "কর্ডসহ সুর", "ব্লক কর্ডে", "কাউন্টারপয়েন্টে",
           "আপবিট দিয়ে শুরু", "টনিকে শেষ হয়", "টনিকে শেষ হয় না"),
    "nb": ("i dur", "i moll", "i dorisk modus", "i miksolydisk modus", "i frygisk modus", "på en pentatonisk skala",
           "med et smalt toneomfang", "med et middels toneomfang", "med et stort toneomfang",
           "en trinnvis melodi", "en melodi med trinn og sprang", "en melodi med mange sprang",
           "i lange noteverdier", "i raske, korte noter", "med punkterte rytmer", "i en jevn rytme",
           "en enkelt melodilinje uten akkompagnement", "en melodi med akkorder", "i blokkakkorder", "i kontrapunkt",
           "begynner med opptakt", "slutter på tonika", "slutter ikke på tonika"),
    "hr": ("u duru", "u molu", "u dorskom modusu", "u miksolidijskom modusu", "u frigijskom modusu", "na pentatonskoj ljestvici",
           "u uskom opsegu", "u srednjem opsegu", "u širokom opsegu",
           "melodija koja se kreće po stupnjevima", "melodija s koracima i skokovima", "melodija u skokovima",
           "u dugim notnim vrijednostima", "u brzim kratkim notama", "s punktiranim ritmom", "u ravnomjernom ritmu",
           "jednoglasna melodijska linija bez pratnje", "melodija s akordima", "u blok-akordima", "u kontrapunktu",
           "počinje uzmahom", "završava na tonici", "ne završava na tonici"),
    "bg": ("в мажор", "в минор", "в дорийски лад", "в миксолидийски лад", "във фригийски лад", "в пентатоника",
           "в тесен диапазон", "в среден диапазон", "в широк диапазон",
           "мелодия с поступателно движение", "мелодия с поступателно движение и скокове", "мелодия със скокове",
           "в дълги тонови трайности", "в бързи кратки тонове", "с пунктиран ритъм", "в равномерен ритъм",
           "едногласна линия без съпровод", "мелодия с акорди", "в акордов склад", "в контрапункт",
           "започва с предтакт", "завършва на тониката", "не завършва на тониката"),
    "sk": ("v durovej tónine", "v molovej tónine", "v dórskom móde", "v mixolýdickom móde", "vo frygickom móde", "na pentatonickej stupnici",
           "v úzkom rozsahu", "v strednom rozsahu", "v širokom rozsahu",
           "krokovo postupujúca melódia", "melódia z krokov a skokov", "skoková melódia",
           "v dlhých notových hodnotách", "v rýchlych drobných hodnotách", "s bodkovaným rytmom", "v rovnomernom rytme",
           "jediná línia bez sprievodu", "melódia s akordmi", "v akordickej sadzbe", "v kontrapunkte",
           "začína predtaktím", "končí na tónike", "nekončí na tónike"),
    "lt": ("mažore", "minore", "dorine derme", "miksolidine derme", "frygine derme", "pentatonine derme",
           "siaurame diapazone", "vidutiniame diapazone", "plačiame diapazone",
           "laipsniškai judanti melodija", "melodija su žingsniais ir šuoliais", "šuoliuojanti melodija",
           "ilgomis natų vertėmis", "greitomis trumpomis natomis", "punktyriniu ritmu", "tolygiu ritmu",
           "viena melodinė linija be pritarimo", "melodija su akordais", "akordine faktūra", "kontrapunktu",
           "prasideda pratakčiu", "baigiasi tonika", "nesibaigia tonika"),
    "sr": ("у дуру", "у молу", "у дорском модусу", "у миксолидијском модусу", "у фригијском модусу", "на пентатонској лествици",
           "у уском опсегу", "у средњем опсегу", "у широком опсегу",
           "мелодија која се креће по ступњевима", "мелодија са корацима и скоковима", "мелодија у скоковима",
           "у дугим нотним вредностима", "у брзим кратким нотама", "са пунктираним ритмом", "у равномерном ритму",
           "једногласна мелодијска линија без пратње", "мелодија са акордима", "у блок-акордима", "у контрапункту",
           "почиње предтактом", "завршава се на тоници", "не завршава се на тоници"),
}


def music_phrases(features: dict, lang: str) -> list[str]:
    """The phrases for a work's ``analyse`` features in one language, in a fixed order (mode,
    scale, range, motion, note values, rhythm, texture, upbeat, final). Values that say little
    (a moderate density, no upbeat) or could not be computed give no phrase."""
    if lang not in PHRASES:
        raise ValueError(f"Unsupported language '{lang}'; expected one of {', '.join(PHRASES)}")
    table = dict(zip(KEYS, PHRASES[lang]))
    keys = [features.get("mode"), "pentatonic" if features.get("pentatonic") else None, features.get("range"),
            features.get("motion"), features.get("density"), features.get("rhythm"), features.get("texture"),
            "upbeat" if features.get("upbeat") else None,
            {True: "tonic_end", False: "open_end"}.get(features.get("tonic_end"))]
    return [table[key] for key in keys if key in table]
