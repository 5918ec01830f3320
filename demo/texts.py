"""Descriptions of a work in eight languages, made from its metadata, and zero-shot class prompts.

Every phrase is written here per language (no machine translation): kinds of music, regions and
Chinese provinces, tune types, song functions, composers, eras, metre, key and voices.
"""

from __future__ import annotations

import random

LANGUAGES = ["en", "de", "fr", "es", "it", "zh", "ja", "ru"]

# region -> "from <place>" in each language (the preposition agrees with the place)
PLACES = {
    "Germany": ["from Germany", "aus Deutschland", "d'Allemagne", "de Alemania", "della Germania", "德国", "ドイツ", "из Германии"],
    "China": ["from China", "aus China", "de Chine", "de China", "della Cina", "中国", "中国", "из Китая"],
    "Lorraine": ["from Lorraine", "aus Lothringen", "de Lorraine", "de Lorena", "della Lorena", "洛林", "ロレーヌ", "из Лотарингии"],
    "Luxembourg": ["from Luxembourg", "aus Luxemburg", "du Luxembourg", "de Luxemburgo", "del Lussemburgo", "卢森堡", "ルクセンブルク", "из Люксембурга"],
    "Poland": ["from Poland", "aus Polen", "de Pologne", "de Polonia", "della Polonia", "波兰", "ポーランド", "из Польши"],
    "Austria": ["from Austria", "aus Österreich", "d'Autriche", "de Austria", "dell'Austria", "奥地利", "オーストリア", "из Австрии"],
    "Switzerland": ["from Switzerland", "aus der Schweiz", "de Suisse", "de Suiza", "della Svizzera", "瑞士", "スイス", "из Швейцарии"],
    "the Netherlands": ["from the Netherlands", "aus den Niederlanden", "des Pays-Bas", "de los Países Bajos", "dei Paesi Bassi", "荷兰", "オランダ", "из Нидерландов"],
    "Yugoslavia": ["from Yugoslavia", "aus Jugoslawien", "de Yougoslavie", "de Yugoslavia", "della Jugoslavia", "南斯拉夫", "ユーゴスラビア", "из Югославии"],
    "Hungary": ["from Hungary", "aus Ungarn", "de Hongrie", "de Hungría", "dell'Ungheria", "匈牙利", "ハンガリー", "из Венгрии"],
    "Russia": ["from Russia", "aus Russland", "de Russie", "de Rusia", "della Russia", "俄罗斯", "ロシア", "из России"],
    "Romania": ["from Romania", "aus Rumänien", "de Roumanie", "de Rumania", "della Romania", "罗马尼亚", "ルーマニア", "из Румынии"],
    "Czechoslovakia": ["from Czechoslovakia", "aus der Tschechoslowakei", "de Tchécoslovaquie", "de Checoslovaquia", "della Cecoslovacchia", "捷克斯洛伐克", "チェコスロバキア", "из Чехословакии"],
    "Ireland": ["from Ireland", "aus Irland", "d'Irlande", "de Irlanda", "dell'Irlanda", "爱尔兰", "アイルランド", "из Ирландии"],
    "Sweden": ["from Sweden", "aus Schweden", "de Suède", "de Suecia", "della Svezia", "瑞典", "スウェーデン", "из Швеции"],
    "Alsace": ["from Alsace", "aus dem Elsass", "d'Alsace", "de Alsacia", "dell'Alsazia", "阿尔萨斯", "アルザス", "из Эльзаса"],
}
# Chinese provinces of the Essen collection: pinyin, Chinese, Japanese, Russian
PROVINCES = {
    "Shanxi": ("山西", "山西", "Шаньси"), "Shaanxi": ("陕西", "陝西", "Шэньси"), "Hebei": ("河北", "河北", "Хэбэй"),
    "Jiangsu": ("江苏", "江蘇", "Цзянсу"), "Yunnan": ("云南", "雲南", "Юньнань"), "Hunan": ("湖南", "湖南", "Хунань"),
    "Sichuan": ("四川", "四川", "Сычуань"), "Gansu": ("甘肃", "甘粛", "Ганьсу"), "Taiwan": ("台湾", "台湾", "Тайвань"),
    "Shandong": ("山东", "山東", "Шаньдун"), "Zhejiang": ("浙江", "浙江", "Чжэцзян"), "Anhui": ("安徽", "安徽", "Аньхой"),
    "Henan": ("河南", "河南", "Хэнань"), "Hubei": ("湖北", "湖北", "Хубэй"), "Guangdong": ("广东", "広東", "Гуандун"),
    "Guangxi": ("广西", "広西", "Гуанси"), "Fujian": ("福建", "福建", "Фуцзянь"), "Jiangxi": ("江西", "江西", "Цзянси"),
    "Guizhou": ("贵州", "貴州", "Гуйчжоу"), "Qinghai": ("青海", "青海", "Цинхай"), "Ningxia": ("宁夏", "寧夏", "Нинся"),
    "Xinjiang": ("新疆", "新疆", "Синьцзян"), "Neimenggu": ("内蒙古", "内モンゴル", "Внутренняя Монголия"),
    "Liaoning": ("辽宁", "遼寧", "Ляонин"), "Jilin": ("吉林", "吉林", "Цзилинь"), "Heilongjiang": ("黑龙江", "黒竜江", "Хэйлунцзян"),
    "Xizang": ("西藏", "チベット", "Тибет"), "Shanghai": ("上海", "上海", "Шанхай"), "Beijing": ("北京", "北京", "Пекин"),
}
TUNE_TYPES = {
    "jig": ["a jig", "ein Jig", "une gigue (jig)", "una giga (jig)", "una giga (jig)", "吉格舞曲", "ジグ", "джига"],
    "reel": ["a reel", "ein Reel", "un reel", "un reel", "un reel", "里尔舞曲", "リール", "рил"],
    "hornpipe": ["a hornpipe", "ein Hornpipe", "un hornpipe", "un hornpipe", "un hornpipe", "角笛舞曲", "ホーンパイプ", "хорнпайп"],
    "slip jig": ["a slip jig", "ein Slip Jig", "un slip jig", "un slip jig", "uno slip jig", "滑步吉格舞曲", "スリップジグ", "слип-джига"],
    "strathspey": ["a strathspey", "ein Strathspey", "un strathspey", "un strathspey", "uno strathspey", "斯特拉斯佩舞曲", "ストラスペイ", "стратспей"],
    "air": ["a slow air", "eine langsame Air", "un air lent", "un aire lento", "un'aria lenta", "慢板曲调", "スロー・エア", "медленный эйр"],
}
FUNCTIONS = {  # keyword of the Essen R: field -> name in each language
    "love": ("liebe", ["love song", "ein Liebeslied", "une chanson d'amour", "una canción de amor", "una canzone d'amore", "情歌", "恋の歌", "песня о любви"]),
    "lullaby": ("wiegen", ["lullaby", "ein Wiegenlied", "une berceuse", "una canción de cuna", "una ninna nanna", "摇篮曲", "子守歌", "колыбельная"]),
    "children": ("kinder", ["children's song", "ein Kinderlied", "une chanson pour enfants", "una canción infantil", "una canzone per bambini", "儿歌", "童謡", "детская песня"]),
    "ballad": ("ballade", ["ballad", "eine Ballade", "une ballade", "una balada", "una ballata", "叙事曲", "バラード", "баллада"]),
    "romance": ("romanze", ["romance", "eine Romanze", "une romance", "un romance", "una romanza", "浪漫曲", "ロマンス", "романс"]),
    "dance": ("tanz", ["dance song", "ein Tanzlied", "une chanson à danser", "una canción de baile", "una canzone a ballo", "舞蹈歌曲", "踊りの歌", "плясовая песня"]),
    "religious": ("relig", ["religious song", "ein geistliches Lied", "un chant religieux", "una canción religiosa", "un canto religioso", "宗教歌曲", "宗教歌", "духовная песня"]),
    "soldier": ("soldat", ["soldiers' song", "ein Soldatenlied", "une chanson de soldats", "una canción de soldados", "una canzone di soldati", "士兵歌曲", "兵士の歌", "солдатская песня"]),
    "work": ("haozi", ["work song", "ein Arbeitslied", "une chanson de travail", "una canción de trabajo", "un canto di lavoro", "劳动号子", "労働歌", "трудовая песня"]),
    "mountain": ("shange", ["mountain song (shan'ge)", "ein Berglied (Shan'ge)", "un chant des montagnes (shan'ge)", "una canción de montaña (shan'ge)", "un canto di montagna (shan'ge)", "山歌", "山歌", "горная песня (шаньгэ)"]),
    "xiaodiao": ("xiaodiao", ["ditty (xiaodiao)", "ein kleines Lied (Xiaodiao)", "une petite chanson (xiaodiao)", "una cancioncilla (xiaodiao)", "una canzoncina (xiaodiao)", "小调", "小調", "песенка (сяодяо)"]),
    "narrative": ("erzaehl", ["narrative song", "ein Erzähllied", "une chanson narrative", "una canción narrativa", "una canzone narrativa", "叙事歌", "物語歌", "повествовательная песня"]),
    "humorous": ("scherz", ["humorous song", "ein Scherzlied", "une chanson humoristique", "una canción humorística", "una canzone scherzosa", "诙谐歌曲", "おどけ歌", "шуточная песня"]),
}
COMPOSERS = {  # name in Latin script, Chinese, Japanese, Russian nominative, Russian genitive
    "Bach": ("Johann Sebastian Bach", "巴赫", "バッハ", "Бах", "Баха"),
    "Palestrina": ("Giovanni Pierluigi da Palestrina", "帕莱斯特里纳", "パレストリーナ", "Палестрина", "Палестрины"),
    "Monteverdi": ("Claudio Monteverdi", "蒙特威尔第", "モンテヴェルディ", "Монтеверди", "Монтеверди"),
    "Beethoven": ("Ludwig van Beethoven", "贝多芬", "ベートーヴェン", "Бетховен", "Бетховена"),
    "Mozart": ("Wolfgang Amadeus Mozart", "莫扎特", "モーツァルト", "Моцарт", "Моцарта"),
    "Haydn": ("Joseph Haydn", "海顿", "ハイドン", "Гайдн", "Гайдна"),
    "Josquin": ("Josquin des Prez", "若斯坎", "ジョスカン", "Жоскен", "Жоскена"),
    "Schumann": ("Robert Schumann", "舒曼", "シューマン", "Шуман", "Шумана"),
}
ERAS = {
    "Medieval": ["from the Middle Ages", "aus dem Mittelalter", "du Moyen Âge", "de la Edad Media", "del Medioevo", "中世纪", "中世", "Средневековья"],
    "Renaissance": ["from the Renaissance", "aus der Renaissance", "de la Renaissance", "del Renacimiento", "del Rinascimento", "文艺复兴时期", "ルネサンス時代", "эпохи Возрождения"],
    "Baroque": ["from the Baroque era", "aus dem Barock", "de l'époque baroque", "del Barroco", "del Barocco", "巴洛克时期", "バロック時代", "эпохи барокко"],
    "Classical": ["from the Classical era", "aus der Klassik", "de l'époque classique", "del Clasicismo", "del Classicismo", "古典主义时期", "古典派", "эпохи классицизма"],
    "Romantic": ["from the Romantic era", "aus der Romantik", "de l'époque romantique", "del Romanticismo", "del Romanticismo", "浪漫主义时期", "ロマン派", "эпохи романтизма"],
}
# per language: folk song, fiddle tune, piece by, music by, metre, voices, one voice, title, separator
FRAMES = {
    "en": dict(folk="a folk song {place}", folk_prov="a folk song from {prov}, China", fiddle="{type}, a fiddle tune", irish="Irish",
               by="a piece by {c}", music_by="music by {c}", era="music {era}", metre="in {m} time", voices="for {n} voices",
               mono="a single melody line", title='titled "{t}"', function="a {f}", sep=", "),
    "de": dict(folk="ein Volkslied {place}", folk_prov="ein Volkslied aus {prov}, China", fiddle="{type}, ein Fiedelstück", irish="irisch",
               by="ein Stück von {c}", music_by="Musik von {c}", era="Musik {era}", metre="im {m}-Takt", voices="für {n} Stimmen",
               mono="einstimmig", title="mit dem Titel „{t}“", function="{f}", sep=", "),
    "fr": dict(folk="une chanson populaire {place}", folk_prov="une chanson populaire du {prov} (Chine)", fiddle="{type}, un air de violon", irish="irlandais",
               by="une œuvre de {c}", music_by="musique de {c}", era="musique {era}", metre="en {m}", voices="à {n} voix",
               mono="une seule ligne mélodique", title="titre : « {t} »", function="{f}", sep=", "),
    "es": dict(folk="una canción popular {place}", folk_prov="una canción popular de {prov} (China)", fiddle="{type}, una pieza de violín", irish="irlandés",
               by="una obra de {c}", music_by="música de {c}", era="música {era}", metre="en compás de {m}", voices="a {n} voces",
               mono="una sola línea melódica", title="con el título «{t}»", function="{f}", sep=", "),
    "it": dict(folk="una canzone popolare {place}", folk_prov="una canzone popolare dello {prov} (Cina)", fiddle="{type}, un brano per violino", irish="irlandese",
               by="un brano di {c}", music_by="musica di {c}", era="musica {era}", metre="in {m}", voices="a {n} voci",
               mono="una sola linea melodica", title="dal titolo «{t}»", function="{f}", sep=", "),
    "zh": dict(folk="{place}民歌", folk_prov="中国{prov}民歌", fiddle="{type}（提琴曲）", irish="爱尔兰",
               by="{c}的作品", music_by="{c}创作的音乐", era="{era}的音乐", metre="{m}拍", voices="{n}声部",
               mono="单声部旋律", title="《{t}》", function="{f}", sep="，"),
    "ja": dict(folk="{place}の民謡", folk_prov="中国・{prov}の民謡", fiddle="{type}（フィドル曲）", irish="アイルランドの",
               by="{c}の作品", music_by="{c}の音楽", era="{era}の音楽", metre="{m}拍子", voices="{n}声部",
               mono="単旋律", title="「{t}」", function="{f}", sep="、"),
    "ru": dict(folk="народная песня {place}", folk_prov="народная песня из провинции {prov} (Китай)", fiddle="{type}, скрипичная пьеса", irish="ирландский",
               by="произведение {c}", music_by="музыка {c}", era="музыка {era}", metre="размер {m}", voices="для {n} голосов",
               mono="одноголосная мелодия", title="под названием «{t}»", function="{f}", sep=", "),
}
MODES = {  # ABC mode -> name per language
    "maj": ["major", "Dur", "majeur", "mayor", "maggiore", "大调", "長調", "мажор"],
    "min": ["minor", "Moll", "mineur", "menor", "minore", "小调", "短調", "минор"],
    "dor": ["dorian", "Dorisch", "dorien", "dórico", "dorico", "多利亚调式", "ドリア旋法", "дорийский"],
    "mix": ["mixolydian", "Mixolydisch", "mixolydien", "mixolidio", "misolidio", "混合利底亚调式", "ミクソリディア旋法", "миксолидийский"],
}
_SOLFEGE = {"C": "do", "D": "re", "E": "mi", "F": "fa", "G": "sol", "A": "la", "B": "si"}
_SOLFEGE_FR = {"C": "do", "D": "ré", "E": "mi", "F": "fa", "G": "sol", "A": "la", "B": "si"}
_SOLFEGE_RU = {"C": "до", "D": "ре", "E": "ми", "F": "фа", "G": "соль", "A": "ля", "B": "си"}
_IROHA = {"C": "ハ", "D": "ニ", "E": "ホ", "F": "ヘ", "G": "ト", "A": "イ", "B": "ロ"}
_GERMAN = {"C": "C", "D": "D", "E": "E", "F": "F", "G": "G", "A": "A", "B": "H"}


def parse_key(key: str) -> tuple[str, str, str] | None:
    """ABC ``K:`` value -> (letter, accidental '#', 'b' or '', mode) or None when it is not a key."""
    key = key.strip().split(" ")[0]
    if not key or key[0].upper() not in "ABCDEFG":
        return None
    letter, rest = key[0].upper(), key[1:]
    accidental = rest[0] if rest[:1] in ("#", "b") else ""
    mode = rest[len(accidental):].lower()[:3]
    mode = {"": "maj", "m": "min", "mi": "min", "ion": "maj", "aeo": "min"}.get(mode, mode)
    return (letter, accidental, mode) if mode in MODES else None


def key_name(key: str, lang: str) -> str | None:
    parsed = parse_key(key)
    if parsed is None:
        return None
    letter, accidental, mode = parsed
    i = LANGUAGES.index(lang)
    mode_name = MODES[mode][i]
    if lang == "en":
        return f"in {letter}{ {'#': '-sharp', 'b': '-flat', '': ''}[accidental]} {mode_name}"
    if lang == "de":
        name = _GERMAN[letter]
        if accidental == "#":
            name += "is"
        elif accidental == "b":
            name = {"B": "B", "E": "Es", "A": "As"}.get(letter, name + "es")
        return f"in {name if mode != 'min' else name.lower()}-{mode_name}"
    if lang in ("fr", "es", "it"):
        name = (_SOLFEGE_FR if lang == "fr" else _SOLFEGE)[letter]
        acc = {"fr": {"#": " dièse", "b": " bémol"}, "es": {"#": " sostenido", "b": " bemol"}, "it": {"#": " diesis", "b": " bemolle"}}[lang]
        return f"{'en' if lang != 'it' else 'in'} {name}{acc.get(accidental, '')} {mode_name}"
    if lang == "zh":
        return f"{ {'#': '升', 'b': '降', '': ''}[accidental]}{letter}{mode_name}"
    if lang == "ja":
        return f"{ {'#': '嬰', 'b': '変', '': ''}[accidental]}{_IROHA[letter]}{mode_name}"
    return f"{_SOLFEGE_RU[letter]}{ {'#': '-диез', 'b': '-бемоль', '': ''}[accidental]} {mode_name}"


def _place(work: dict, i: int, lang: str) -> str | None:
    frames = FRAMES[lang]
    province = work.get("province")
    if work.get("region") == "China" and province in PROVINCES:
        name = province if i < 5 else PROVINCES[province][i - 5]
        return frames["folk_prov"].format(prov=name)
    country = work.get("country")
    if country in PLACES:
        return frames["folk"].format(place=PLACES[country][i])
    return None


BARS = {  # language -> (one bar, n bars)
    "en": ("1 bar", "{n} bars"), "de": ("1 Takt", "{n} Takte"), "fr": ("1 mesure", "{n} mesures"),
    "es": ("1 compás", "{n} compases"), "it": ("1 battuta", "{n} battute"), "zh": ("1小节", "{n}小节"),
    "ja": ("1小節", "{n}小節"), "ru": ("1 такт", "{n} тактов"),
}


def bars_phrase(n: int, lang: str) -> str:
    """The length of a piece in bars, with the plural each language takes after a number."""
    one, many = BARS[lang]
    if lang == "ru" and n % 10 in (1, 2, 3, 4) and n % 100 not in (11, 12, 13, 14):
        return f"{n} {'такт' if n % 10 == 1 else 'такта'}"
    return one if n == 1 else many.format(n=n)


def core(work: dict, lang: str) -> str | None:
    """The short description: what kind of music, with its class (region, tune type, composer)."""
    i, frames = LANGUAGES.index(lang), FRAMES[lang]
    if work["kind"] == "folk":
        return _place(work, i, lang)
    if work["kind"] == "fiddle" and work.get("tune_type") in TUNE_TYPES:
        text = frames["fiddle"].format(type=TUNE_TYPES[work["tune_type"]][i])
        return text
    if work.get("composer") in COMPOSERS:
        names = COMPOSERS[work["composer"]]
        name = names[0] if i < 5 else names[i - 4] if lang != "ru" else names[4]
        return frames["by"].format(c=name)
    if work.get("era") in ERAS:
        return frames["era"].format(era=ERAS[work["era"]][i])
    return None


def details(work: dict, lang: str, title: bool = True) -> list[str]:
    """Optional parts: title, song function, era, metre, key, voices, length in bars."""
    i, frames = LANGUAGES.index(lang), FRAMES[lang]
    parts = []
    if title and work.get("title"):
        parts.append(frames["title"].format(t=work["title"]))
    if work.get("function") in FUNCTIONS:
        parts.append(frames["function"].format(f=FUNCTIONS[work["function"]][1][i]))
    if work.get("era") in ERAS and work.get("composer"):
        parts.append(ERAS[work["era"]][i])
    if work.get("metre"):
        parts.append(frames["metre"].format(m=work["metre"]))
    if work.get("key") and (name := key_name(work["key"], lang)):
        parts.append(name)
    if work.get("voices"):
        parts.append(frames["mono"] if work["voices"] == 1 else frames["voices"].format(n=work["voices"]))
    if work.get("bars"):
        parts.append(bars_phrase(work["bars"], lang))
    return parts


def describe(work: dict, lang: str, rng: random.Random | None = None, title: bool = True) -> str | None:
    """A description; with ``rng`` a random subset and order of the details, else all of them."""
    head = core(work, lang)
    if head is None:
        return None
    parts = details(work, lang, title)
    if rng is not None:
        parts = [p for p in parts if rng.random() < 0.5]
        rng.shuffle(parts)
    return FRAMES[lang]["sep"].join([head, *parts])


def descriptions(work: dict, rng: random.Random, per_language: int = 1) -> dict[str, list[str]]:
    """Per language: the description of everything the music shows (all but the title, which the
    model never sees: the held-out retrieval query), the short one, and random subsets of all the
    facts, title included, without repeats."""
    out = {}
    for lang in LANGUAGES:
        head = core(work, lang)
        if head is None:
            continue
        texts = [describe(work, lang, title=False), head] + [describe(work, lang, rng) for _ in range(per_language)]
        out[lang] = list(dict.fromkeys(texts))
    return out


# --- zero-shot class prompts ----------------------------------------------------------------
OTHER_COUNTRIES = ["Austria", "Switzerland", "the Netherlands", "Yugoslavia", "Hungary", "Russia", "Romania", "Czechoslovakia", "Ireland", "Sweden", "Alsace"]


def task_prompts(task: str, lang: str = "en") -> dict[str, list[str]]:
    """Class name -> prompts (their text vectors are averaged) for a zero-shot task."""
    i = LANGUAGES.index(lang)
    frames = FRAMES[lang]
    if task == "tune_type":
        return {t: [frames["fiddle"].format(type=names[i]), names[i]] for t, names in TUNE_TYPES.items()}
    if task == "region":
        prompts = {r: [frames["folk"].format(place=PLACES[r][i])] for r in ("Germany", "China", "Lorraine", "Luxembourg", "Poland")}
        prompts["other"] = [frames["folk"].format(place=PLACES[c][i]) for c in OTHER_COUNTRIES]
        return prompts
    if task == "composer":
        out = {}
        for c in ("Bach", "Palestrina", "Monteverdi", "Beethoven", "Mozart", "Haydn"):
            names = COMPOSERS[c]
            name = names[0] if i < 5 else names[i - 4] if lang != "ru" else names[4]
            out[c] = [frames["by"].format(c=name), frames["music_by"].format(c=name)]
        return out
    raise ValueError(f"unknown task '{task}'; expected tune_type, region or composer")
