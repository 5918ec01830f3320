"""Text queries for how a work was rendered to audio (its ``rendering``: instrument and tempo), in
ten languages, for the held-out text -> audio evaluation (``demo.evaluate``).

Written per language (no machine translation), each a whole query: a frame with the instrument's
name in the case the frame takes (Russian genitive after для, Finnish adessive, Hungarian
superessive). Ten languages of the training texts (sv, fi and hu never saw a training text until
2026-12-06) and three (da, ro, ca) that training never saw. Instruments are keyed by the General MIDI name the rendering gives, lower case.
"""

from __future__ import annotations

QUERY_LANGUAGES = ["en", "de", "fr", "es", "zh", "ja", "ru", "sv", "fi", "hu", "da", "ro", "ca"]

FRAMES = {
    "en": "music played on the {}", "de": "Musik für {}", "fr": "musique pour {}", "es": "música para {}",
    "zh": "{}演奏的音乐", "ja": "{}の演奏", "ru": "музыка для {}", "sv": "musik för {}",
    "fi": "{} soitettua musiikkia", "hu": "{} játszott zene", "da": "musik for {}", "ro": "muzică pentru {}",
    "ca": "música per a {}",
}
# instrument -> its name in each of QUERY_LANGUAGES, in the case its frame takes
INSTRUMENTS = {
    "piano": ["piano", "Klavier", "piano", "piano", "钢琴", "ピアノ", "фортепиано", "piano", "pianolla", "zongorán", "klaver", "pian", "piano"],
    "harpsichord": ["harpsichord", "Cembalo", "clavecin", "clave", "大键琴", "チェンバロ", "клавесина", "cembalo", "cembalolla", "csembalón", "cembalo", "clavecin", "clavicèmbal"],
    "organ": ["organ", "Orgel", "orgue", "órgano", "管风琴", "オルガン", "органа", "orgel", "uruilla", "orgonán", "orgel", "orgă", "orgue"],
    "accordion": ["accordion", "Akkordeon", "accordéon", "acordeón", "手风琴", "アコーディオン", "аккордеона", "dragspel", "harmonikalla", "harmonikán", "harmonika", "acordeon", "acordió"],
    "guitar": ["guitar", "Gitarre", "guitare", "guitarra", "吉他", "ギター", "гитары", "gitarr", "kitaralla", "gitáron", "guitar", "chitară", "guitarra"],
    "harp": ["harp", "Harfe", "harpe", "arpa", "竖琴", "ハープ", "арфы", "harpa", "harpulla", "hárfán", "harpe", "harpă", "arpa"],
    "violin": ["violin", "Violine", "violon", "violín", "小提琴", "ヴァイオリン", "скрипки", "fiol", "viululla", "hegedűn", "violin", "vioară", "violí"],
    "viola": ["viola", "Bratsche", "alto", "viola", "中提琴", "ヴィオラ", "альта", "altfiol", "alttoviululla", "brácsán", "bratsch", "violă", "viola"],
    "cello": ["cello", "Violoncello", "violoncelle", "violonchelo", "大提琴", "チェロ", "виолончели", "cello", "sellolla", "csellón", "cello", "violoncel", "violoncel"],
    "flute": ["flute", "Flöte", "flûte", "flauta", "长笛", "フルート", "флейты", "flöjt", "huilulla", "fuvolán", "fløjte", "flaut", "flauta"],
    "recorder": ["recorder", "Blockflöte", "flûte à bec", "flauta dulce", "竖笛", "リコーダー", "блокфлейты", "blockflöjt", "nokkahuilulla", "furulyán", "blokfløjte", "flaut drept", "flauta de bec"],
    "clarinet": ["clarinet", "Klarinette", "clarinette", "clarinete", "单簧管", "クラリネット", "кларнета", "klarinett", "klarinetilla", "klarinéton", "klarinet", "clarinet", "clarinet"],
    "oboe": ["oboe", "Oboe", "hautbois", "oboe", "双簧管", "オーボエ", "гобоя", "oboe", "oboella", "oboán", "obo", "oboi", "oboè"],
    "bassoon": ["bassoon", "Fagott", "basson", "fagot", "大管", "ファゴット", "фагота", "fagott", "fagotilla", "fagotton", "fagot", "fagot", "fagot"],
    "trumpet": ["trumpet", "Trompete", "trompette", "trompeta", "小号", "トランペット", "трубы", "trumpet", "trumpetilla", "trombitán", "trompet", "trompetă", "trompeta"],
    "french horn": ["French horn", "Horn", "cor", "trompa", "圆号", "ホルン", "валторны", "valthorn", "käyrätorvella", "kürtön", "valdhorn", "corn", "trompa"],
    "trombone": ["trombone", "Posaune", "trombone", "trombón", "长号", "トロンボーン", "тромбона", "trombon", "pasuunalla", "harsonán", "basun", "trombon", "trombó"],
    "saxophone": ["saxophone", "Saxophon", "saxophone", "saxofón", "萨克斯管", "サクソフォン", "саксофона", "saxofon", "saksofonilla", "szaxofonon", "saxofon", "saxofon", "saxòfon"],
    "bagpipe": ["bagpipes", "Dudelsack", "cornemuse", "gaita", "风笛", "バグパイプ", "волынки", "säckpipa", "säkkipillillä", "dudán", "sækkepibe", "cimpoi", "sac de gemecs"],
    "marimba": ["marimba", "Marimba", "marimba", "marimba", "马林巴", "マリンバ", "маримбы", "marimba", "marimballa", "marimbán", "marimba", "marimbă", "marimba"],
    "vibraphone": ["vibraphone", "Vibraphon", "vibraphone", "vibráfono", "颤音琴", "ヴィブラフォン", "вибрафона", "vibrafon", "vibrafonilla", "vibrafonon", "vibrafon", "vibrafon", "vibràfon"],
    "xylophone": ["xylophone", "Xylophon", "xylophone", "xilófono", "木琴", "シロフォン", "ксилофона", "xylofon", "ksylofonilla", "xilofonon", "xylofon", "xilofon", "xilòfon"],
}
INSTRUMENTS["fiddle"] = INSTRUMENTS["violin"]  # General MIDI's program 110: the same instrument to a listener
# ensembles (demo.renderings' strings, choir and brass) -> the whole query in each of QUERY_LANGUAGES:
# no frame above takes them ("played on the choir")
ENSEMBLES = {
    "strings": ["music played by a string ensemble", "Musik für Streicher", "musique pour cordes", "música para cuerdas",
                "弦乐合奏的音乐", "弦楽合奏の演奏", "музыка для струнного оркестра", "musik för stråkar",
                "jousiyhtyeen soittamaa musiikkia", "vonósok által játszott zene",
                "musik for strygere", "muzică pentru coarde", "música per a corda"],
    "choir": ["music sung by a choir", "Musik für Chor", "musique pour chœur", "música para coro", "合唱团演唱的音乐",
              "合唱の演奏", "музыка для хора", "musik för kör", "kuoron laulamaa musiikkia", "kórus által énekelt zene", "musik for kor", "muzică pentru cor",
              "música per a cor"],
    "brass": ["music played by brass instruments", "Musik für Blechbläser", "musique pour cuivres", "música para metales",
              "铜管乐器演奏的音乐", "金管楽器の演奏", "музыка для медных духовых", "musik för mässingsblåsare",
              "vaskipuhaltimien soittamaa musiikkia", "rézfúvósok által játszott zene",
              "musik for messingblæsere", "muzică pentru alămuri", "música per a metalls"],
}
# tempo -> the whole query in each of QUERY_LANGUAGES
TEMPI = {
    "slow": ["slow music", "langsame Musik", "musique lente", "música lenta", "慢速的音乐", "ゆっくりとした音楽",
             "медленная музыка", "långsam musik", "hidasta musiikkia", "lassú zene", "langsom musik",
             "muzică lentă", "música lenta"],
    "fast": ["fast music", "schnelle Musik", "musique rapide", "música rápida", "快速的音乐", "速いテンポの音楽",
             "быстрая музыка", "snabb musik", "nopeaa musiikkia", "gyors zene", "hurtig musik", "muzică rapidă",
             "música ràpida"],
}


def instrument_queries(instrument: str) -> dict[str, str] | None:
    """Language -> the query for music played on ``instrument``; None for an instrument not listed."""
    if instrument.lower() in ENSEMBLES:
        return dict(zip(QUERY_LANGUAGES, ENSEMBLES[instrument.lower()]))
    names = INSTRUMENTS.get(instrument.lower())
    if names is None:
        return None
    return {lang: FRAMES[lang].format(name) for lang, name in zip(QUERY_LANGUAGES, names)}


def tempo_queries(tempo: str) -> dict[str, str]:
    """Language -> the query for music at ``tempo`` ('slow' or 'fast')."""
    if tempo not in TEMPI:
        raise ValueError(f"no queries for the tempo '{tempo}'; expected one of {', '.join(TEMPI)}")
    return dict(zip(QUERY_LANGUAGES, TEMPI[tempo]))
