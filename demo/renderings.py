"""How a rendered work sounds: its instrument, tempo and dynamics, drawn per work, applied to its
MIDI before ``clamp3.features.render.render_midi``, and said in the audio captions of every
language of ``demo.languages``.

Without this every excerpt was one piano-like program at the score's tempo and no caption said so,
so a query about the sound (a flute, an organ, slow, loud) had nothing to anchor to (issue 21).

Tempo is counted in MIDI beats (quarter notes) per minute, the unit of the MIDI file's tempo: a
rendering is *slow* at ``SLOW_BPM`` or fewer, *fast* at ``FAST_BPM`` or more, else *moderate*.
Dynamics scale every velocity so that the loudest note gets the velocity of ``VELOCITIES``.
"""

from __future__ import annotations

import io
import random

from demo.texts import counted

# name -> General MIDI program (0-based, as MIDI files store it). Each sounds in TimGM6mb, and apart:
# between two instruments on one piece, the RMS distance of standardised spectral-v1 features is
# 0.58 (strings, flute) to 1.56 (strings, guitar), against 1.55 between a folk song and a chorale
# on one instrument (benchmarks/renderings.py)
INSTRUMENTS = {
    "piano": 0,       # Acoustic Grand Piano
    "strings": 48,    # String Ensemble 1
    "flute": 73,      # Flute
    "organ": 19,      # Church Organ
    "guitar": 24,     # Acoustic Guitar (nylon)
    "harp": 46,       # Orchestral Harp
    "choir": 52,      # Choir Aahs
    "brass": 61,      # Brass Section
    "accordion": 21,  # Accordion
    "violin": 40,     # Violin
}
DRUM_CHANNEL = 9  # General MIDI percussion: no program applies
SLOW_BPM, FAST_BPM = 72, 132
# tempo class -> the beats per minute drawn for it (steps of 4, none between the classes' bounds)
BPMS = {"slow": range(48, SLOW_BPM + 1, 4), "moderate": range(84, 117, 4), "fast": range(FAST_BPM, 177, 4)}
VELOCITIES = {"soft": 40, "moderate": 84, "loud": 124}  # of the loudest note

# Draw weights per kind of work. Every instrument keeps a weight in every kind, so that the
# Essen songs (most of the corpus) give each one held-out excerpts; within a kind the plausible
# ones weigh more: sung folk songs on voices, flute, guitar and accordion; fiddle tunes on the
# violin, flute and accordion; composers' scores on choir, organ, strings and piano.
_INSTRUMENT_WEIGHTS = {
    "folk": {"piano": 1.0, "strings": 0.9, "flute": 1.1, "organ": 0.9, "guitar": 1.1, "harp": 1.0, "choir": 1.1,
             "brass": 0.9, "accordion": 1.1, "violin": 1.0},
    "fiddle": {"piano": 0.5, "strings": 0.3, "flute": 2.0, "organ": 0.1, "guitar": 0.8, "harp": 0.6, "choir": 0.1,
               "brass": 0.3, "accordion": 2.0, "violin": 3.0},
    "composer": {"piano": 1.5, "strings": 2.0, "flute": 0.5, "organ": 2.0, "guitar": 0.3, "harp": 0.5, "choir": 2.0,
                 "brass": 1.0, "accordion": 0.1, "violin": 0.5},
}
# tune types, song functions and eras that are more often slow, or fast, than the others
_SLOW_LABELS = {"air", "lullaby", "religious", "ballad", "love", "Renaissance", "Medieval"}
_FAST_LABELS = {"reel", "jig", "hornpipe", "slip jig", "dance", "humorous", "children"}


def tempo_label(bpm: float) -> str:
    return "slow" if bpm <= SLOW_BPM else "fast" if bpm >= FAST_BPM else "moderate"


def draw_rendering(work_id: str, work: dict) -> dict:
    """The instrument, tempo and dynamics of a work's audio, drawn from its id alone (a change of
    selection or seed moves no rendering), with weights that suit the kind of work."""
    rng = random.Random(f"rendering:{work_id}")
    weights = _INSTRUMENT_WEIGHTS.get(work.get("kind"), _INSTRUMENT_WEIGHTS["folk"])
    instrument = rng.choices(list(weights), weights=list(weights.values()))[0]
    labels = {work.get("tune_type"), work.get("function"), work.get("era")}
    tempo_weights = [2.0, 1.0, 0.5] if labels & _SLOW_LABELS else [0.5, 1.0, 2.0] if labels & _FAST_LABELS else [1.0, 1.0, 1.0]
    tempo = rng.choices(list(BPMS), weights=tempo_weights)[0]
    bpm = rng.choice(BPMS[tempo])
    dynamics = rng.choices(list(VELOCITIES), weights=[2.0, 1.0, 1.0] if work.get("function") == "lullaby" else [1.0, 1.0, 1.0])[0]
    return {"instrument": instrument, "program": INSTRUMENTS[instrument], "bpm": bpm, "tempo": tempo_label(bpm), "dynamics": dynamics}


def rendering_key(rendering: dict) -> str:
    """A file-name part that changes with anything that changes the audio: ``flute-60-soft``."""
    return f"{rendering['instrument']}-{rendering['bpm']}-{rendering['dynamics']}"


def apply_rendering(midi: bytes, rendering: dict) -> bytes:
    """Standard MIDI file bytes with the rendering's program on every channel but the drums, the
    first tempo set to its ``bpm`` (later tempo changes scaled alike) and velocities scaled so
    that the loudest note has ``VELOCITIES[dynamics]``."""
    import mido

    source = mido.MidiFile(file=io.BytesIO(midi))
    first_tempo = next((m.tempo for track in source.tracks for m in track if m.type == "set_tempo"), 500_000)
    target = mido.bpm2tempo(rendering["bpm"])
    loudest = max((m.velocity for track in source.tracks for m in track if m.type == "note_on"), default=0) or 1
    velocity_scale = VELOCITIES[rendering["dynamics"]] / loudest
    has_tempo = False
    out = mido.MidiFile(type=source.type, ticks_per_beat=source.ticks_per_beat)
    for track in source.tracks:
        messages, carried = [], 0  # a dropped message's delta time goes to the next one
        channels = sorted({m.channel for m in track if not m.is_meta and hasattr(m, "channel") and m.channel != DRUM_CHANNEL})
        for message in track:
            time = message.time + carried
            carried = 0
            if message.type == "program_change" and message.channel != DRUM_CHANNEL:
                carried = time
                continue
            if message.type == "set_tempo":
                has_tempo = True
                message = message.copy(tempo=max(1, min(16_777_215, round(message.tempo * target / first_tempo))))
            elif message.type == "note_on" and message.velocity > 0:
                message = message.copy(velocity=max(1, min(127, round(message.velocity * velocity_scale))))
            messages.append(message.copy(time=time))
        programs = [mido.Message("program_change", channel=c, program=rendering["program"], time=0) for c in channels]
        out.tracks.append(mido.MidiTrack(programs + messages))
    if not has_tempo:  # the MIDI default of 120 beats per minute would stand: say the rendering's
        out.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=target, time=0))
    buffer = io.BytesIO()
    out.save(file=buffer)
    return buffer.getvalue()


# --- phrases ---------------------------------------------------------------------------------
# Per language: instrument -> (played on it, music of it); tempo class -> (its word, the tempo);
# beats per minute; dynamics -> (its word, how it is played); the separator of a description's
# parts. Written as a native speaker would search, not translated word for word.
PHRASES = {
    "en": dict(
        instruments={"piano": ("played on the piano", "piano music"), "strings": ("played by a string ensemble", "string music"),
                     "flute": ("played on the flute", "flute music"), "organ": ("played on the church organ", "organ music"),
                     "guitar": ("played on the classical guitar", "guitar music"), "harp": ("played on the harp", "harp music"),
                     "choir": ("sung by a choir", "choral music"), "brass": ("played by a brass ensemble", "brass music"),
                     "accordion": ("played on the accordion", "accordion music"), "violin": ("played on the violin", "violin music")},
        tempo={"slow": ("slow", "a slow tempo"), "moderate": ("moderate", "a moderate tempo"), "fast": ("fast", "a fast tempo")},
        bpm="{n} beats per minute", dynamics={"soft": ("soft", "played softly"), "loud": ("loud", "played loudly")}, sep=", "),
    "de": dict(
        instruments={"piano": ("auf dem Klavier gespielt", "Klaviermusik"), "strings": ("von einem Streichensemble gespielt", "Streichermusik"),
                     "flute": ("auf der Flöte gespielt", "Flötenmusik"), "organ": ("auf der Kirchenorgel gespielt", "Orgelmusik"),
                     "guitar": ("auf der Konzertgitarre gespielt", "Gitarrenmusik"), "harp": ("auf der Harfe gespielt", "Harfenmusik"),
                     "choir": ("von einem Chor gesungen", "Chormusik"), "brass": ("von einem Blechbläserensemble gespielt", "Blechbläsermusik"),
                     "accordion": ("auf dem Akkordeon gespielt", "Akkordeonmusik"), "violin": ("auf der Geige gespielt", "Geigenmusik")},
        tempo={"slow": ("langsam", "ein langsames Tempo"), "moderate": ("gemäßigt", "ein mäßiges Tempo"), "fast": ("schnell", "ein schnelles Tempo")},
        bpm="{n} Schläge pro Minute", dynamics={"soft": ("leise", "leise gespielt"), "loud": ("laut", "laut gespielt")}, sep=", "),
    "fr": dict(
        instruments={"piano": ("joué au piano", "musique pour piano"), "strings": ("joué par un ensemble à cordes", "musique pour cordes"),
                     "flute": ("joué à la flûte", "musique pour flûte"), "organ": ("joué à l'orgue d'église", "musique d'orgue"),
                     "guitar": ("joué à la guitare classique", "musique pour guitare"), "harp": ("joué à la harpe", "musique pour harpe"),
                     "choir": ("chanté par un chœur", "musique chorale"), "brass": ("joué par un ensemble de cuivres", "musique pour cuivres"),
                     "accordion": ("joué à l'accordéon", "musique d'accordéon"), "violin": ("joué au violon", "musique pour violon")},
        tempo={"slow": ("lent", "un tempo lent"), "moderate": ("modéré", "un tempo modéré"), "fast": ("rapide", "un tempo rapide")},
        bpm="{n} battements par minute", dynamics={"soft": ("doux", "joué doucement"), "loud": ("fort", "joué fort")}, sep=", "),
    "es": dict(
        instruments={"piano": ("tocado al piano", "música para piano"), "strings": ("interpretado por un conjunto de cuerdas", "música para cuerdas"),
                     "flute": ("tocado con flauta", "música para flauta"), "organ": ("tocado al órgano de iglesia", "música de órgano"),
                     "guitar": ("tocado con guitarra clásica", "música para guitarra"), "harp": ("tocado con arpa", "música para arpa"),
                     "choir": ("cantado por un coro", "música coral"), "brass": ("interpretado por un conjunto de metales", "música para metales"),
                     "accordion": ("tocado con acordeón", "música de acordeón"), "violin": ("tocado con violín", "música para violín")},
        tempo={"slow": ("lento", "un tempo lento"), "moderate": ("moderado", "un tempo moderado"), "fast": ("rápido", "un tempo rápido")},
        bpm="{n} pulsaciones por minuto", dynamics={"soft": ("suave", "tocado suavemente"), "loud": ("fuerte", "tocado con fuerza")}, sep=", "),
    "it": dict(
        instruments={"piano": ("suonato al pianoforte", "musica per pianoforte"), "strings": ("eseguito da un'orchestra d'archi", "musica per archi"),
                     "flute": ("suonato al flauto", "musica per flauto"), "organ": ("suonato all'organo di chiesa", "musica per organo"),
                     "guitar": ("suonato alla chitarra classica", "musica per chitarra"), "harp": ("suonato all'arpa", "musica per arpa"),
                     "choir": ("cantato da un coro", "musica corale"), "brass": ("eseguito da un ensemble di ottoni", "musica per ottoni"),
                     "accordion": ("suonato alla fisarmonica", "musica per fisarmonica"), "violin": ("suonato al violino", "musica per violino")},
        tempo={"slow": ("lento", "un tempo lento"), "moderate": ("moderato", "un tempo moderato"), "fast": ("veloce", "un tempo veloce")},
        # "piano" is also the instrument: the soft word is "sommesso"
        bpm="{n} battiti al minuto", dynamics={"soft": ("sommesso", "a volume basso"), "loud": ("forte", "a volume alto")}, sep=", "),
    "zh": dict(
        instruments={"piano": ("钢琴演奏", "钢琴曲"), "strings": ("弦乐合奏", "弦乐"), "flute": ("长笛演奏", "长笛曲"),
                     "organ": ("教堂管风琴演奏", "管风琴曲"), "guitar": ("古典吉他演奏", "吉他曲"), "harp": ("竖琴演奏", "竖琴曲"),
                     "choir": ("合唱团演唱", "合唱曲"), "brass": ("铜管乐合奏", "铜管乐"), "accordion": ("手风琴演奏", "手风琴曲"),
                     "violin": ("小提琴演奏", "小提琴曲")},
        tempo={"slow": ("慢速", "慢节奏"), "moderate": ("中速", "中等速度"), "fast": ("快速", "快节奏")},
        bpm="每分钟{n}拍", dynamics={"soft": ("轻柔", "轻声演奏"), "loud": ("响亮", "大声演奏")}, sep="，"),
    "ja": dict(
        instruments={"piano": ("ピアノ演奏", "ピアノ曲"), "strings": ("弦楽合奏", "弦楽曲"), "flute": ("フルート演奏", "フルート曲"),
                     "organ": ("教会のパイプオルガン演奏", "オルガン曲"), "guitar": ("クラシックギター演奏", "ギター曲"),
                     "harp": ("ハープ演奏", "ハープ曲"), "choir": ("合唱団による歌唱", "合唱曲"), "brass": ("金管アンサンブル演奏", "金管楽曲"),
                     "accordion": ("アコーディオン演奏", "アコーディオン曲"), "violin": ("ヴァイオリン演奏", "ヴァイオリン曲")},
        tempo={"slow": ("ゆっくり", "遅いテンポ"), "moderate": ("中くらいの速さ", "中庸なテンポ"), "fast": ("速い", "速いテンポ")},
        bpm="1分間に{n}拍", dynamics={"soft": ("静か", "弱く静かな演奏"), "loud": ("大きな音", "力強い大きな音の演奏")}, sep="、"),
    "ru": dict(
        instruments={"piano": ("исполнено на фортепиано", "фортепианная музыка"), "strings": ("в исполнении струнного ансамбля", "музыка для струнных"),
                     "flute": ("исполнено на флейте", "музыка для флейты"), "organ": ("исполнено на церковном органе", "органная музыка"),
                     "guitar": ("исполнено на классической гитаре", "гитарная музыка"), "harp": ("исполнено на арфе", "музыка для арфы"),
                     "choir": ("в исполнении хора", "хоровая музыка"), "brass": ("в исполнении ансамбля медных духовых", "музыка для медных духовых"),
                     "accordion": ("исполнено на аккордеоне", "музыка для аккордеона"), "violin": ("исполнено на скрипке", "скрипичная музыка")},
        tempo={"slow": ("медленно", "медленный темп"), "moderate": ("умеренно", "умеренный темп"), "fast": ("быстро", "быстрый темп")},
        bpm={"one": "{n} удар в минуту", "few": "{n} удара в минуту", "other": "{n} ударов в минуту"}, dynamics={"soft": ("тихо", "тихое исполнение"), "loud": ("громко", "громкое исполнение")}, sep=", "),
    "pt": dict(
        instruments={"piano": ("tocado ao piano", "música para piano"), "strings": ("tocado por um conjunto de cordas", "música para cordas"),
                     "flute": ("tocado na flauta", "música para flauta"), "organ": ("tocado no órgão de igreja", "música de órgão"),
                     "guitar": ("tocado no violão", "música de violão"), "harp": ("tocado na harpa", "música para harpa"),
                     "choir": ("cantado por um coro", "música coral"), "brass": ("tocado por um conjunto de metais", "música para metais"),
                     "accordion": ("tocado no acordeão", "música de acordeão"), "violin": ("tocado no violino", "música para violino")},
        tempo={"slow": ("lento", "um andamento lento"), "moderate": ("moderado", "um andamento moderado"), "fast": ("rápido", "um andamento rápido")},
        bpm="{n} batidas por minuto", dynamics={"soft": ("suave", "tocado suavemente"), "loud": ("forte", "tocado com força")}, sep=", "),
    "nl": dict(
        instruments={"piano": ("gespeeld op de piano", "pianomuziek"), "strings": ("gespeeld door een strijkensemble", "strijkmuziek"),
                     "flute": ("gespeeld op de fluit", "fluitmuziek"), "organ": ("gespeeld op het kerkorgel", "orgelmuziek"),
                     "guitar": ("gespeeld op de klassieke gitaar", "gitaarmuziek"), "harp": ("gespeeld op de harp", "harpmuziek"),
                     "choir": ("gezongen door een koor", "koormuziek"), "brass": ("gespeeld door een koperensemble", "muziek voor koperblazers"),
                     "accordion": ("gespeeld op de accordeon", "accordeonmuziek"), "violin": ("gespeeld op de viool", "vioolmuziek")},
        tempo={"slow": ("langzaam", "een langzaam tempo"), "moderate": ("gematigd", "een gematigd tempo"), "fast": ("snel", "een snel tempo")},
        bpm="{n} slagen per minuut", dynamics={"soft": ("zacht", "zacht gespeeld"), "loud": ("luid", "luid gespeeld")}, sep=", "),
    "pl": dict(
        instruments={"piano": ("grane na fortepianie", "muzyka fortepianowa"), "strings": ("grane przez zespół smyczkowy", "muzyka na smyczki"),
                     "flute": ("grane na flecie", "muzyka na flet"), "organ": ("grane na organach kościelnych", "muzyka organowa"),
                     "guitar": ("grane na gitarze klasycznej", "muzyka gitarowa"), "harp": ("grane na harfie", "muzyka na harfę"),
                     "choir": ("śpiewane przez chór", "muzyka chóralna"), "brass": ("grane przez zespół dęty blaszany", "muzyka na instrumenty dęte blaszane"),
                     "accordion": ("grane na akordeonie", "muzyka akordeonowa"), "violin": ("grane na skrzypcach", "muzyka skrzypcowa")},
        tempo={"slow": ("wolno", "wolne tempo"), "moderate": ("umiarkowanie", "umiarkowane tempo"), "fast": ("szybko", "szybkie tempo")},
        bpm={"one": "{n} uderzenie na minutę", "few": "{n} uderzenia na minutę", "other": "{n} uderzeń na minutę"}, dynamics={"soft": ("cicho", "grane cicho"), "loud": ("głośno", "grane głośno")}, sep=", "),
    "cs": dict(
        instruments={"piano": ("hráno na klavír", "klavírní hudba"), "strings": ("hráno smyčcovým souborem", "hudba pro smyčce"),
                     "flute": ("hráno na flétnu", "flétnová hudba"), "organ": ("hráno na chrámové varhany", "varhanní hudba"),
                     "guitar": ("hráno na klasickou kytaru", "kytarová hudba"), "harp": ("hráno na harfu", "harfová hudba"),
                     "choir": ("zpíváno sborem", "sborová hudba"), "brass": ("hráno žesťovým souborem", "hudba pro žestě"),
                     "accordion": ("hráno na akordeon", "akordeonová hudba"), "violin": ("hráno na housle", "houslová hudba")},
        tempo={"slow": ("pomalu", "pomalé tempo"), "moderate": ("středně rychle", "střední tempo"), "fast": ("rychle", "rychlé tempo")},
        bpm={"one": "{n} úder za minutu", "few": "{n} údery za minutu", "other": "{n} úderů za minutu"}, dynamics={"soft": ("potichu", "hráno potichu"), "loud": ("hlasitě", "hráno hlasitě")}, sep=", "),
    "uk": dict(
        instruments={"piano": ("зіграно на фортепіано", "фортепіанна музика"), "strings": ("у виконанні струнного ансамблю", "музика для струнних"),
                     "flute": ("зіграно на флейті", "музика для флейти"), "organ": ("зіграно на церковному органі", "органна музика"),
                     "guitar": ("зіграно на класичній гітарі", "гітарна музика"), "harp": ("зіграно на арфі", "музика для арфи"),
                     "choir": ("у виконанні хору", "хорова музика"), "brass": ("у виконанні ансамблю мідних духових", "музика для мідних духових"),
                     "accordion": ("зіграно на акордеоні", "акордеонна музика"), "violin": ("зіграно на скрипці", "скрипкова музика")},
        tempo={"slow": ("повільно", "повільний темп"), "moderate": ("помірно", "помірний темп"), "fast": ("швидко", "швидкий темп")},
        bpm={"one": "{n} удар на хвилину", "few": "{n} удари на хвилину", "other": "{n} ударів на хвилину"}, dynamics={"soft": ("тихо", "тихе виконання"), "loud": ("гучно", "гучне виконання")}, sep=", "),
    "el": dict(
        instruments={"piano": ("παιγμένο στο πιάνο", "μουσική για πιάνο"), "strings": ("από σύνολο εγχόρδων", "μουσική για έγχορδα"),
                     "flute": ("παιγμένο στο φλάουτο", "μουσική για φλάουτο"), "organ": ("παιγμένο στο εκκλησιαστικό όργανο", "μουσική για εκκλησιαστικό όργανο"),
                     "guitar": ("παιγμένο στην κλασική κιθάρα", "μουσική για κιθάρα"), "harp": ("παιγμένο στην άρπα", "μουσική για άρπα"),
                     "choir": ("τραγουδισμένο από χορωδία", "χορωδιακή μουσική"), "brass": ("από σύνολο χάλκινων πνευστών", "μουσική για χάλκινα πνευστά"),
                     "accordion": ("παιγμένο στο ακορντεόν", "μουσική για ακορντεόν"), "violin": ("παιγμένο στο βιολί", "μουσική για βιολί")},
        tempo={"slow": ("αργό", "αργό τέμπο"), "moderate": ("μέτριο", "μέτριο τέμπο"), "fast": ("γρήγορο", "γρήγορο τέμπο")},
        bpm="{n} χτύποι ανά λεπτό", dynamics={"soft": ("σιγανό", "παιγμένο σιγανά"), "loud": ("δυνατό", "παιγμένο δυνατά")}, sep=", "),
    "tr": dict(
        instruments={"piano": ("piyanoda çalınmış", "piyano müziği"), "strings": ("yaylı çalgılar topluluğu tarafından çalınmış", "yaylı çalgılar müziği"),
                     "flute": ("flütle çalınmış", "flüt müziği"), "organ": ("kilise orgunda çalınmış", "org müziği"),
                     "guitar": ("klasik gitarla çalınmış", "gitar müziği"), "harp": ("arpla çalınmış", "arp müziği"),
                     "choir": ("koro tarafından söylenmiş", "koro müziği"), "brass": ("bakır üflemeliler topluluğu tarafından çalınmış", "bakır üflemeli çalgılar müziği"),
                     "accordion": ("akordeonla çalınmış", "akordeon müziği"), "violin": ("kemanla çalınmış", "keman müziği")},
        tempo={"slow": ("yavaş", "yavaş tempo"), "moderate": ("orta hızda", "orta tempo"), "fast": ("hızlı", "hızlı tempo")},
        bpm="dakikada {n} vuruş", dynamics={"soft": ("yumuşak", "alçak sesle çalınmış"), "loud": ("yüksek sesli", "yüksek sesle çalınmış")}, sep=", "),
    "ar": dict(
        instruments={"piano": ("عزف على البيانو", "موسيقى البيانو"), "strings": ("أداء فرقة وتريات", "موسيقى الوتريات"),
                     "flute": ("عزف على الفلوت", "موسيقى الفلوت"), "organ": ("عزف على أرغن الكنيسة", "موسيقى الأرغن"),
                     "guitar": ("عزف على الغيتار الكلاسيكي", "موسيقى الغيتار"), "harp": ("عزف على الهارب", "موسيقى الهارب"),
                     "choir": ("غناء جوقة", "موسيقى كورالية"), "brass": ("أداء فرقة آلات نحاسية", "موسيقى الآلات النحاسية"),
                     "accordion": ("عزف على الأكورديون", "موسيقى الأكورديون"), "violin": ("عزف على الكمان", "موسيقى الكمان")},
        tempo={"slow": ("بطيء", "إيقاع بطيء"), "moderate": ("معتدل", "إيقاع معتدل"), "fast": ("سريع", "إيقاع سريع")},
        bpm="{n} نبضة في الدقيقة", dynamics={"soft": ("هادئ", "عزف هادئ"), "loud": ("قوي", "عزف بصوت عالٍ")}, sep="، "),
    "hi": dict(
        instruments={"piano": ("पियानो पर बजाया गया", "पियानो संगीत"), "strings": ("स्ट्रिंग समूह द्वारा बजाया गया", "तार वाद्यों का संगीत"),
                     "flute": ("बांसुरी पर बजाया गया", "बांसुरी संगीत"), "organ": ("चर्च ऑर्गन पर बजाया गया", "ऑर्गन संगीत"),
                     "guitar": ("क्लासिकल गिटार पर बजाया गया", "गिटार संगीत"), "harp": ("हार्प पर बजाया गया", "हार्प संगीत"),
                     "choir": ("गायक मंडली द्वारा गाया गया", "कोरल संगीत"), "brass": ("पीतल वाद्य समूह द्वारा बजाया गया", "ब्रास संगीत"),
                     "accordion": ("अकॉर्डियन पर बजाया गया", "अकॉर्डियन संगीत"), "violin": ("वायलिन पर बजाया गया", "वायलिन संगीत")},
        tempo={"slow": ("धीमा", "धीमी लय"), "moderate": ("मध्यम", "मध्यम लय"), "fast": ("तेज़", "तेज़ लय")},
        bpm="{n} बीट प्रति मिनट", dynamics={"soft": ("हल्की आवाज़", "हल्की आवाज़ में बजाया गया"), "loud": ("ऊँची आवाज़", "ऊँची आवाज़ में बजाया गया")}, sep=", "),
    "ko": dict(
        instruments={"piano": ("피아노로 연주", "피아노 음악"), "strings": ("현악 합주로 연주", "현악 음악"), "flute": ("플루트로 연주", "플루트 음악"),
                     "organ": ("교회 오르간으로 연주", "오르간 음악"), "guitar": ("클래식 기타로 연주", "기타 음악"),
                     "harp": ("하프로 연주", "하프 음악"), "choir": ("합창단의 노래", "합창 음악"), "brass": ("금관 합주로 연주", "금관악 음악"),
                     "accordion": ("아코디언으로 연주", "아코디언 음악"), "violin": ("바이올린으로 연주", "바이올린 음악")},
        tempo={"slow": ("느리게", "느린 템포"), "moderate": ("보통 빠르기로", "보통 템포"), "fast": ("빠르게", "빠른 템포")},
        bpm="분당 {n}비트", dynamics={"soft": ("여리게", "작은 소리로 연주"), "loud": ("세게", "큰 소리로 연주")}, sep=", "),
    "vi": dict(
        instruments={"piano": ("chơi trên đàn piano", "nhạc piano"), "strings": ("do dàn dây biểu diễn", "nhạc dàn dây"),
                     "flute": ("thổi sáo flute", "nhạc sáo"), "organ": ("chơi trên đàn organ nhà thờ", "nhạc organ"),
                     "guitar": ("chơi trên đàn guitar cổ điển", "nhạc guitar"), "harp": ("chơi trên đàn hạc", "nhạc đàn hạc"),
                     "choir": ("do dàn hợp xướng hát", "nhạc hợp xướng"), "brass": ("do dàn kèn đồng biểu diễn", "nhạc kèn đồng"),
                     "accordion": ("chơi trên đàn accordion", "nhạc accordion"), "violin": ("chơi trên đàn violin", "nhạc violin")},
        tempo={"slow": ("chậm", "nhịp độ chậm"), "moderate": ("vừa phải", "nhịp độ vừa phải"), "fast": ("nhanh", "nhịp độ nhanh")},
        bpm="{n} nhịp mỗi phút", dynamics={"soft": ("nhẹ nhàng", "chơi nhẹ nhàng"), "loud": ("mạnh", "chơi to và mạnh")}, sep=", "),
    "id": dict(
        instruments={"piano": ("dimainkan dengan piano", "musik piano"), "strings": ("dimainkan oleh ansambel alat gesek", "musik alat gesek"),
                     "flute": ("dimainkan dengan flute", "musik seruling"), "organ": ("dimainkan dengan organ gereja", "musik organ"),
                     "guitar": ("dimainkan dengan gitar klasik", "musik gitar"), "harp": ("dimainkan dengan harpa", "musik harpa"),
                     "choir": ("dinyanyikan oleh paduan suara", "musik paduan suara"), "brass": ("dimainkan oleh ansambel tiup logam", "musik tiup logam"),
                     "accordion": ("dimainkan dengan akordeon", "musik akordeon"), "violin": ("dimainkan dengan biola", "musik biola")},
        tempo={"slow": ("lambat", "tempo lambat"), "moderate": ("sedang", "tempo sedang"), "fast": ("cepat", "tempo cepat")},
        bpm="{n} ketukan per menit", dynamics={"soft": ("lembut", "dimainkan dengan lembut"), "loud": ("keras", "dimainkan dengan keras")}, sep=", "),
    "sv": dict(
        instruments={"piano": ("spelat på piano", "pianomusik"), "strings": ("spelat av en stråkensemble", "stråkmusik"),
                     "flute": ("spelat på flöjt", "flöjtmusik"), "organ": ("spelat på kyrkorgel", "orgelmusik"),
                     "guitar": ("spelat på klassisk gitarr", "gitarrmusik"), "harp": ("spelat på harpa", "harpmusik"),
                     "choir": ("sjunget av en kör", "körmusik"), "brass": ("spelat av en brassensemble", "brassmusik"),
                     "accordion": ("spelat på dragspel", "dragspelsmusik"), "violin": ("spelat på fiol", "fiolmusik")},
        tempo={"slow": ("långsamt", "ett långsamt tempo"), "moderate": ("måttligt", "ett måttligt tempo"), "fast": ("snabbt", "ett snabbt tempo")},
        bpm="{n} slag per minut", dynamics={"soft": ("svagt", "spelat mjukt och tyst"), "loud": ("starkt", "spelat högt")}, sep=", "),
    "fi": dict(
        instruments={"piano": ("soitettu pianolla", "pianomusiikkia"), "strings": ("jousiyhtyeen soittama", "jousimusiikkia"),
                     "flute": ("soitettu huilulla", "huilumusiikkia"), "organ": ("soitettu kirkkouruilla", "urkumusiikkia"),
                     "guitar": ("soitettu klassisella kitaralla", "kitaramusiikkia"), "harp": ("soitettu harpulla", "harppumusiikkia"),
                     "choir": ("kuoron laulama", "kuoromusiikkia"), "brass": ("vaskiyhtyeen soittama", "vaskimusiikkia"),
                     "accordion": ("soitettu harmonikalla", "harmonikkamusiikkia"), "violin": ("soitettu viululla", "viulumusiikkia")},
        tempo={"slow": ("hidas", "hidas tempo"), "moderate": ("kohtalainen", "kohtalainen tempo"), "fast": ("nopea", "nopea tempo")},
        bpm="{n} iskua minuutissa", dynamics={"soft": ("hiljainen", "soitettu hiljaa"), "loud": ("voimakas", "soitettu voimakkaasti")}, sep=", "),
    "da": dict(
        instruments={"piano": ("spillet på klaver", "klavermusik"), "strings": ("spillet af et strygeensemble", "strygermusik"),
                     "flute": ("spillet på fløjte", "fløjtemusik"), "organ": ("spillet på kirkeorgel", "orgelmusik"),
                     "guitar": ("spillet på klassisk guitar", "guitarmusik"), "harp": ("spillet på harpe", "harpemusik"),
                     "choir": ("sunget af et kor", "kormusik"), "brass": ("spillet af et messingensemble", "messingmusik"),
                     "accordion": ("spillet på harmonika", "harmonikamusik"), "violin": ("spillet på violin", "violinmusik")},
        tempo={"slow": ("langsomt", "et langsomt tempo"), "moderate": ("moderat", "et moderat tempo"), "fast": ("hurtigt", "et hurtigt tempo")},
        bpm="{n} slag i minuttet", dynamics={"soft": ("stille", "spillet blødt"), "loud": ("højt", "spillet kraftigt")}, sep=", "),
    "hu": dict(
        instruments={"piano": ("zongorán játszva", "zongorazene"), "strings": ("vonósegyüttes előadásában", "vonószene"),
                     "flute": ("fuvolán játszva", "fuvolazene"), "organ": ("templomi orgonán játszva", "orgonazene"),
                     "guitar": ("klasszikus gitáron játszva", "gitárzene"), "harp": ("hárfán játszva", "hárfazene"),
                     "choir": ("kórus előadásában", "kóruszene"), "brass": ("rézfúvós együttes előadásában", "rézfúvós zene"),
                     "accordion": ("harmonikán játszva", "harmonikazene"), "violin": ("hegedűn játszva", "hegedűzene")},
        tempo={"slow": ("lassú", "lassú tempó"), "moderate": ("mérsékelt", "mérsékelt tempó"), "fast": ("gyors", "gyors tempó")},
        bpm="percenként {n} ütés", dynamics={"soft": ("halk", "halkan játszva"), "loud": ("hangos", "hangosan játszva")}, sep=", "),
    "ro": dict(
        instruments={"piano": ("cântat la pian", "muzică de pian"), "strings": ("interpretat de un ansamblu de coarde", "muzică pentru coarde"),
                     "flute": ("cântat la flaut", "muzică pentru flaut"), "organ": ("cântat la orga bisericii", "muzică de orgă"),
                     "guitar": ("cântat la chitară clasică", "muzică de chitară"), "harp": ("cântat la harpă", "muzică de harpă"),
                     "choir": ("cântat de un cor", "muzică corală"), "brass": ("interpretat de un ansamblu de alămuri", "muzică de alămuri"),
                     "accordion": ("cântat la acordeon", "muzică de acordeon"), "violin": ("cântat la vioară", "muzică de vioară")},
        tempo={"slow": ("lent", "un tempo lent"), "moderate": ("moderat", "un tempo moderat"), "fast": ("rapid", "un tempo rapid")},
        # "încet" is both slowly and quietly: soft is "în surdină"
        bpm={"one": "{n} bătaie pe minut", "few": "{n} bătăi pe minut", "other": "{n} de bătăi pe minut"}, dynamics={"soft": ("în surdină", "cântat în surdină"), "loud": ("tare", "cântat tare")}, sep=", "),
    "ca": dict(
        instruments={"piano": ("tocat al piano", "música per a piano"), "strings": ("interpretat per un conjunt de corda", "música per a corda"),
                     "flute": ("tocat amb flauta", "música per a flauta"), "organ": ("tocat a l'orgue d'església", "música d'orgue"),
                     "guitar": ("tocat amb guitarra clàssica", "música per a guitarra"), "harp": ("tocat amb arpa", "música per a arpa"),
                     "choir": ("cantat per un cor", "música coral"), "brass": ("interpretat per un conjunt de metalls", "música per a metalls"),
                     "accordion": ("tocat amb acordió", "música d'acordió"), "violin": ("tocat amb violí", "música per a violí")},
        tempo={"slow": ("lent", "un tempo lent"), "moderate": ("moderat", "un tempo moderat"), "fast": ("ràpid", "un tempo ràpid")},
        bpm="{n} pulsacions per minut", dynamics={"soft": ("suau", "tocat suaument"), "loud": ("fort", "tocat fort")}, sep=", "),
    "he": dict(
        instruments={"piano": ("מנוגן בפסנתר", "מוזיקה לפסנתר"), "strings": ("בביצוע הרכב כלי קשת", "מוזיקה לכלי קשת"),
                     "flute": ("מנוגן בחליל", "מוזיקה לחליל"), "organ": ("מנוגן בעוגב כנסייה", "מוזיקת עוגב"),
                     "guitar": ("מנוגן בגיטרה קלאסית", "מוזיקה לגיטרה"), "harp": ("מנוגן בנבל", "מוזיקה לנבל"),
                     "choir": ("בביצוע מקהלה", "מוזיקה מקהלתית"), "brass": ("בביצוע הרכב כלי נשיפה ממתכת", "מוזיקה לכלי נשיפה ממתכת"),
                     "accordion": ("מנוגן באקורדיון", "מוזיקת אקורדיון"), "violin": ("מנוגן בכינור", "מוזיקה לכינור")},
        tempo={"slow": ("איטי", "קצב איטי"), "moderate": ("מתון", "קצב מתון"), "fast": ("מהיר", "קצב מהיר")},
        bpm="{n} פעימות לדקה", dynamics={"soft": ("שקט", "נגינה שקטה"), "loud": ("חזק", "נגינה חזקה")}, sep=", "),
    "th": dict(
        instruments={"piano": ("บรรเลงด้วยเปียโน", "เพลงเปียโน"), "strings": ("บรรเลงโดยวงเครื่องสาย", "เพลงเครื่องสาย"),
                     "flute": ("บรรเลงด้วยฟลุต", "เพลงฟลุต"), "organ": ("บรรเลงด้วยออร์แกนโบสถ์", "เพลงออร์แกน"),
                     "guitar": ("บรรเลงด้วยกีตาร์คลาสสิก", "เพลงกีตาร์"), "harp": ("บรรเลงด้วยฮาร์ป", "เพลงฮาร์ป"),
                     "choir": ("ขับร้องโดยคณะนักร้องประสานเสียง", "เพลงประสานเสียง"), "brass": ("บรรเลงโดยวงเครื่องทองเหลือง", "เพลงเครื่องทองเหลือง"),
                     "accordion": ("บรรเลงด้วยแอคคอร์เดียน", "เพลงแอคคอร์เดียน"), "violin": ("บรรเลงด้วยไวโอลิน", "เพลงไวโอลิน")},
        tempo={"slow": ("ช้า", "จังหวะช้า"), "moderate": ("ปานกลาง", "จังหวะปานกลาง"), "fast": ("เร็ว", "จังหวะเร็ว")},
        bpm="{n} จังหวะต่อนาที", dynamics={"soft": ("เบา", "บรรเลงเบา ๆ"), "loud": ("ดัง", "บรรเลงเสียงดัง")}, sep=" "),
    "fa": dict(
        instruments={"piano": ("نواخته‌شده با پیانو", "موسیقی پیانو"), "strings": ("اجرای گروه زهی", "موسیقی زهی"),
                     "flute": ("نواخته‌شده با فلوت", "موسیقی فلوت"), "organ": ("نواخته‌شده با ارگ کلیسا", "موسیقی ارگ"),
                     "guitar": ("نواخته‌شده با گیتار کلاسیک", "موسیقی گیتار"), "harp": ("نواخته‌شده با چنگ", "موسیقی چنگ"),
                     "choir": ("اجرای گروه کر", "موسیقی کرال"), "brass": ("اجرای گروه سازهای بادی برنجی", "موسیقی سازهای بادی برنجی"),
                     "accordion": ("نواخته‌شده با آکاردئون", "موسیقی آکاردئون"), "violin": ("نواخته‌شده با ویولن", "موسیقی ویولن")},
        # "آرام" is both calm and slow: soft is "کم‌صدا"
        tempo={"slow": ("آهسته", "تمپوی آهسته"), "moderate": ("متوسط", "تمپوی متوسط"), "fast": ("تند", "تمپوی تند")},
        bpm="{n} ضرب در دقیقه", dynamics={"soft": ("کم‌صدا", "اجرای کم‌صدا"), "loud": ("پرصدا", "اجرای پرصدا")}, sep="، "),
    "bn": dict(
        instruments={"piano": ("পিয়ানোয় বাজানো", "পিয়ানো সংগীত"), "strings": ("তারযন্ত্রের দলের পরিবেশনা", "তারযন্ত্রের সংগীত"),
                     "flute": ("বাঁশিতে বাজানো", "বাঁশির সংগীত"), "organ": ("গির্জার অর্গানে বাজানো", "অর্গান সংগীত"),
                     "guitar": ("ক্লাসিক্যাল গিটারে বাজানো", "গিটার সংগীত"), "harp": ("হার্পে বাজানো", "হার্পের সংগীত"),
                     "choir": ("গায়কদলের গাওয়া", "কোরাস সংগীত"), "brass": ("ব্রাস ব্যান্ডের পরিবেশনা", "ব্রাস সংগীত"),
                     "accordion": ("অ্যাকর্ডিয়নে বাজানো", "অ্যাকর্ডিয়ন সংগীত"), "violin": ("বেহালায় বাজানো", "বেহালার সংগীত")},
        tempo={"slow": ("ধীর", "ধীর লয়"), "moderate": ("মাঝারি", "মাঝারি লয়"), "fast": ("দ্রুত", "দ্রুত লয়")},
        bpm="মিনিটে {n} বিট", dynamics={"soft": ("মৃদু", "মৃদু স্বরে বাজানো"), "loud": ("জোরালো", "জোরে বাজানো")}, sep=", "),
    "nb": dict(
        instruments={"piano": ("spilt på piano", "pianomusikk"), "strings": ("spilt av et strykeensemble", "strykemusikk"),
                     "flute": ("spilt på fløyte", "fløytemusikk"), "organ": ("spilt på kirkeorgel", "orgelmusikk"),
                     "guitar": ("spilt på klassisk gitar", "gitarmusikk"), "harp": ("spilt på harpe", "harpemusikk"),
                     "choir": ("sunget av et kor", "kormusikk"), "brass": ("spilt av et messingensemble", "messingmusikk"),
                     "accordion": ("spilt på trekkspill", "trekkspillmusikk"), "violin": ("spilt på fiolin", "fiolinmusikk")},
        tempo={"slow": ("langsomt", "et langsomt tempo"), "moderate": ("moderat", "et moderat tempo"), "fast": ("raskt", "et raskt tempo")},
        bpm="{n} slag i minuttet", dynamics={"soft": ("svakt", "spilt mykt"), "loud": ("sterkt", "spilt kraftig")}, sep=", "),
    "hr": dict(
        instruments={"piano": ("svirano na klaviru", "glazba za klavir"), "strings": ("u izvedbi gudačkog ansambla", "glazba za gudače"),
                     "flute": ("svirano na flauti", "glazba za flautu"), "organ": ("svirano na crkvenim orguljama", "glazba za orgulje"),
                     "guitar": ("svirano na klasičnoj gitari", "glazba za gitaru"), "harp": ("svirano na harfi", "glazba za harfu"),
                     "choir": ("u izvedbi zbora", "zborska glazba"), "brass": ("u izvedbi limenog ansambla", "glazba za limene puhače"),
                     "accordion": ("svirano na harmonici", "glazba za harmoniku"), "violin": ("svirano na violini", "glazba za violinu")},
        tempo={"slow": ("sporo", "sporo tempo"), "moderate": ("umjereno", "umjereni tempo"), "fast": ("brzo", "brzi tempo")},
        bpm={"one": "{n} otkucaj u minuti", "other": "{n} otkucaja u minuti"},
        dynamics={"soft": ("tiho", "svirano tiho"), "loud": ("glasno", "svirano glasno")}, sep=", "),
    "bg": dict(
        instruments={"piano": ("изпълнено на пиано", "музика за пиано"), "strings": ("в изпълнение на струнен ансамбъл", "музика за струнни"),
                     "flute": ("изпълнено на флейта", "музика за флейта"), "organ": ("изпълнено на църковен орган", "органова музика"),
                     "guitar": ("изпълнено на класическа китара", "музика за китара"), "harp": ("изпълнено на арфа", "музика за арфа"),
                     "choir": ("в изпълнение на хор", "хорова музика"), "brass": ("в изпълнение на ансамбъл от медни духови", "музика за медни духови"),
                     "accordion": ("изпълнено на акордеон", "музика за акордеон"), "violin": ("изпълнено на цигулка", "музика за цигулка")},
        tempo={"slow": ("бавно", "бавно темпо"), "moderate": ("умерено", "умерено темпо"), "fast": ("бързо", "бързо темпо")},
        bpm={"one": "{n} удар в минута", "other": "{n} удара в минута"},
        dynamics={"soft": ("тихо", "тихо изпълнение"), "loud": ("силно", "силно изпълнение")}, sep=", "),
    "sk": dict(
        instruments={"piano": ("hrané na klavíri", "klavírna hudba"), "strings": ("hrané sláčikovým súborom", "hudba pre sláčiky"),
                     "flute": ("hrané na flaute", "flautová hudba"), "organ": ("hrané na chrámovom organe", "organová hudba"),
                     "guitar": ("hrané na klasickej gitare", "gitarová hudba"), "harp": ("hrané na harfe", "harfová hudba"),
                     "choir": ("spievané zborom", "zborová hudba"), "brass": ("hrané plechovým dychovým súborom", "hudba pre plechové dychy"),
                     "accordion": ("hrané na akordeóne", "akordeónová hudba"), "violin": ("hrané na husliach", "husľová hudba")},
        tempo={"slow": ("pomaly", "pomalé tempo"), "moderate": ("stredne rýchlo", "stredné tempo"), "fast": ("rýchlo", "rýchle tempo")},
        bpm={"one": "{n} úder za minútu", "few": "{n} údery za minútu", "other": "{n} úderov za minútu"},
        dynamics={"soft": ("potichu", "hrané potichu"), "loud": ("nahlas", "hrané nahlas")}, sep=", "),
    "lt": dict(
        instruments={"piano": ("grojama fortepijonu", "fortepijono muzika"), "strings": ("atlieka styginių ansamblis", "muzika styginiams"),
                     "flute": ("grojama fleita", "fleitos muzika"), "organ": ("grojama bažnytiniais vargonais", "vargonų muzika"),
                     "guitar": ("grojama klasikine gitara", "gitaros muzika"), "harp": ("grojama arfa", "arfos muzika"),
                     "choir": ("gieda choras", "chorinė muzika"), "brass": ("atlieka varinių pučiamųjų ansamblis", "muzika variniams pučiamiesiems"),
                     "accordion": ("grojama akordeonu", "akordeono muzika"), "violin": ("grojama smuiku", "smuiko muzika")},
        tempo={"slow": ("lėtai", "lėtas tempas"), "moderate": ("vidutiniu tempu", "vidutinis tempas"), "fast": ("greitai", "greitas tempas")},
        bpm={"one": "{n} dūžis per minutę", "few": "{n} dūžiai per minutę", "other": "{n} dūžių per minutę"},
        dynamics={"soft": ("tyliai", "grojama tyliai"), "loud": ("garsiai", "grojama garsiai")}, sep=", "),
    "sr": dict(
        instruments={"piano": ("свирано на клавиру", "музика за клавир"), "strings": ("у извођењу гудачког ансамбла", "музика за гудаче"),
                     "flute": ("свирано на флаути", "музика за флауту"), "organ": ("свирано на црквеним оргуљама", "музика за оргуље"),
                     "guitar": ("свирано на класичној гитари", "музика за гитару"), "harp": ("свирано на харфи", "музика за харфу"),
                     "choir": ("у извођењу хора", "хорска музика"), "brass": ("у извођењу лименог ансамбла", "музика за лимене дуваче"),
                     "accordion": ("свирано на хармоници", "музика за хармонику"), "violin": ("свирано на виолини", "музика за виолину")},
        tempo={"slow": ("споро", "споро темпо"), "moderate": ("умерено", "умерен темпо"), "fast": ("брзо", "брз темпо")},
        bpm={"one": "{n} откуцај у минути", "other": "{n} откуцаја у минути"},
        dynamics={"soft": ("тихо", "свирано тихо"), "loud": ("гласно", "свирано гласно")}, sep=", "),
}


def bpm_phrase(bpm: int, lang: str) -> str:
    """Beats per minute with the form of the noun each language takes after the number (Slavic
    languages decline it, Romanian puts "de" before it from 20: ``demo.texts.PLURAL_RULES``)."""
    unit = PHRASES[lang]["bpm"]
    return counted(unit if isinstance(unit, dict) else {"other": unit}, bpm, lang)


def _parts(rendering: dict, lang: str) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str] | None]:
    table = PHRASES[lang]
    played, music = table["instruments"][rendering["instrument"]]
    word, tempo = table["tempo"][rendering["tempo"]]
    dynamics = table["dynamics"].get(rendering["dynamics"])  # moderate dynamics are not said
    return (played, music), (f"{word}{table['sep']}{bpm_phrase(rendering['bpm'], lang)}", tempo), dynamics


def rendering_phrases(rendering: dict, lang: str) -> list[str]:
    """How the rendering sounds, in ``lang``: played on it, its music, the tempo with its beats
    per minute, the tempo, and (when soft or loud) the dynamics: en ``["played on the flute",
    "flute music", "slow, 60 beats per minute", "a slow tempo", "soft", "played softly"]``."""
    instrument, tempo, dynamics = _parts(rendering, lang)
    return [*instrument, *tempo, *(dynamics or ())]


def audio_captions(rendering: dict, lang: str, descriptions: list[str], rng: random.Random, alone: bool = False) -> list[str]:
    """Captions of a rendered excerpt in ``lang``: each description with the instrument, tempo and
    dynamics joined, in a random choice of their phrases, and two captions of the rendering alone;
    with ``alone``, the instrument alone and the tempo alone too (``"played on the flute"``,
    ``"slow, 60 beats per minute"``). Without them every caption says an instrument and a tempo
    together, and a query for a tempo ("slow music") ranks first the renderings of the instrument
    its words stand nearest to; with them (and two descriptions: ``demo.build.audio_texts``) the
    audio stage found tempo and instruments better and composers from audio worse (demo/README.md,
    2026-12-07)."""
    (played, music), tempo, dynamics = _parts(rendering, lang)
    sep = PHRASES[lang]["sep"]

    def said(instrument: str) -> list[str]:
        return [instrument, rng.choice(tempo), *([rng.choice(dynamics)] if dynamics else [])]

    texts = [sep.join([text, *said(rng.choice((played, music)))]) for text in descriptions]
    texts += [sep.join(said(played)), sep.join([music, tempo[0], *(dynamics[:1] if dynamics else ())])]
    if alone:  # no draw of ``rng``: the captions above are the same either way
        texts += [played, tempo[0]]
    return list(dict.fromkeys(texts))
