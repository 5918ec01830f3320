"""Descriptions of a work in every language of ``demo.languages``, made from its metadata, and
zero-shot class prompts.

Every phrase is written here per language (no machine translation): kinds of music, regions and
Chinese provinces, tune types, song functions, composers, eras, metre, key, voices and length.
Each table is keyed by language code, so a language is added in one place per table. Training
texts (``descriptions``) are written in ``TRAIN_LANGUAGES`` only; ``describe``, ``core`` and
``task_prompts`` speak all of ``LANGUAGES``, so held-out languages can query and classify.
The first edition's eight languages (en de fr es it zh ja ru) give exactly the phrases and
descriptions of the first edition (tests/data/golden/first_edition_texts.json); the second
edition's training texts (``descriptions``) are made differently: what the ABC spells out (key,
metre, length) is in few of them, what the notes do (``demo.musicwords``) in many.
"""

from __future__ import annotations

import random

from demo.languages import LANGUAGES as LANGUAGES  # re-exported: the languages every table speaks
from demo.languages import TRAIN_LANGUAGES
from demo.musicwords import music_phrases

# language -> region -> "from <place>" (the preposition or case agrees with the place; some
# languages take an adjective: "Alman halk şarkısı", "német népdal")
PLACES = {
    "en": {"Germany": "from Germany", "China": "from China", "Lorraine": "from Lorraine", "Luxembourg": "from Luxembourg",
           "Poland": "from Poland", "Austria": "from Austria", "Switzerland": "from Switzerland",
           "the Netherlands": "from the Netherlands", "Yugoslavia": "from Yugoslavia", "Hungary": "from Hungary",
           "Russia": "from Russia", "Romania": "from Romania", "Czechoslovakia": "from Czechoslovakia",
           "Ireland": "from Ireland", "Sweden": "from Sweden", "Alsace": "from Alsace"},
    "de": {"Germany": "aus Deutschland", "China": "aus China", "Lorraine": "aus Lothringen", "Luxembourg": "aus Luxemburg",
           "Poland": "aus Polen", "Austria": "aus Österreich", "Switzerland": "aus der Schweiz",
           "the Netherlands": "aus den Niederlanden", "Yugoslavia": "aus Jugoslawien", "Hungary": "aus Ungarn",
           "Russia": "aus Russland", "Romania": "aus Rumänien", "Czechoslovakia": "aus der Tschechoslowakei",
           "Ireland": "aus Irland", "Sweden": "aus Schweden", "Alsace": "aus dem Elsass"},
    "fr": {"Germany": "d'Allemagne", "China": "de Chine", "Lorraine": "de Lorraine", "Luxembourg": "du Luxembourg",
           "Poland": "de Pologne", "Austria": "d'Autriche", "Switzerland": "de Suisse", "the Netherlands": "des Pays-Bas",
           "Yugoslavia": "de Yougoslavie", "Hungary": "de Hongrie", "Russia": "de Russie", "Romania": "de Roumanie",
           "Czechoslovakia": "de Tchécoslovaquie", "Ireland": "d'Irlande", "Sweden": "de Suède", "Alsace": "d'Alsace"},
    "es": {"Germany": "de Alemania", "China": "de China", "Lorraine": "de Lorena", "Luxembourg": "de Luxemburgo",
           "Poland": "de Polonia", "Austria": "de Austria", "Switzerland": "de Suiza", "the Netherlands": "de los Países Bajos",
           "Yugoslavia": "de Yugoslavia", "Hungary": "de Hungría", "Russia": "de Rusia", "Romania": "de Rumania",
           "Czechoslovakia": "de Checoslovaquia", "Ireland": "de Irlanda", "Sweden": "de Suecia", "Alsace": "de Alsacia"},
    "it": {"Germany": "della Germania", "China": "della Cina", "Lorraine": "della Lorena", "Luxembourg": "del Lussemburgo",
           "Poland": "della Polonia", "Austria": "dell'Austria", "Switzerland": "della Svizzera",
           "the Netherlands": "dei Paesi Bassi", "Yugoslavia": "della Jugoslavia", "Hungary": "dell'Ungheria",
           "Russia": "della Russia", "Romania": "della Romania", "Czechoslovakia": "della Cecoslovacchia",
           "Ireland": "dell'Irlanda", "Sweden": "della Svezia", "Alsace": "dell'Alsazia"},
    "zh": {"Germany": "德国", "China": "中国", "Lorraine": "洛林", "Luxembourg": "卢森堡", "Poland": "波兰", "Austria": "奥地利",
           "Switzerland": "瑞士", "the Netherlands": "荷兰", "Yugoslavia": "南斯拉夫", "Hungary": "匈牙利", "Russia": "俄罗斯",
           "Romania": "罗马尼亚", "Czechoslovakia": "捷克斯洛伐克", "Ireland": "爱尔兰", "Sweden": "瑞典", "Alsace": "阿尔萨斯"},
    "ja": {"Germany": "ドイツ", "China": "中国", "Lorraine": "ロレーヌ", "Luxembourg": "ルクセンブルク", "Poland": "ポーランド",
           "Austria": "オーストリア", "Switzerland": "スイス", "the Netherlands": "オランダ", "Yugoslavia": "ユーゴスラビア",
           "Hungary": "ハンガリー", "Russia": "ロシア", "Romania": "ルーマニア", "Czechoslovakia": "チェコスロバキア",
           "Ireland": "アイルランド", "Sweden": "スウェーデン", "Alsace": "アルザス"},
    "ru": {"Germany": "из Германии", "China": "из Китая", "Lorraine": "из Лотарингии", "Luxembourg": "из Люксембурга",
           "Poland": "из Польши", "Austria": "из Австрии", "Switzerland": "из Швейцарии", "the Netherlands": "из Нидерландов",
           "Yugoslavia": "из Югославии", "Hungary": "из Венгрии", "Russia": "из России", "Romania": "из Румынии",
           "Czechoslovakia": "из Чехословакии", "Ireland": "из Ирландии", "Sweden": "из Швеции", "Alsace": "из Эльзаса"},
    "pt": {"Germany": "da Alemanha", "China": "da China", "Lorraine": "da Lorena", "Luxembourg": "do Luxemburgo",
           "Poland": "da Polônia", "Austria": "da Áustria", "Switzerland": "da Suíça", "the Netherlands": "dos Países Baixos",
           "Yugoslavia": "da Iugoslávia", "Hungary": "da Hungria", "Russia": "da Rússia", "Romania": "da Romênia",
           "Czechoslovakia": "da Tchecoslováquia", "Ireland": "da Irlanda", "Sweden": "da Suécia", "Alsace": "da Alsácia"},
    "nl": {"Germany": "uit Duitsland", "China": "uit China", "Lorraine": "uit Lotharingen", "Luxembourg": "uit Luxemburg",
           "Poland": "uit Polen", "Austria": "uit Oostenrijk", "Switzerland": "uit Zwitserland", "the Netherlands": "uit Nederland",
           "Yugoslavia": "uit Joegoslavië", "Hungary": "uit Hongarije", "Russia": "uit Rusland", "Romania": "uit Roemenië",
           "Czechoslovakia": "uit Tsjecho-Slowakije", "Ireland": "uit Ierland", "Sweden": "uit Zweden", "Alsace": "uit de Elzas"},
    "pl": {"Germany": "z Niemiec", "China": "z Chin", "Lorraine": "z Lotaryngii", "Luxembourg": "z Luksemburga",
           "Poland": "z Polski", "Austria": "z Austrii", "Switzerland": "ze Szwajcarii", "the Netherlands": "z Holandii",
           "Yugoslavia": "z Jugosławii", "Hungary": "z Węgier", "Russia": "z Rosji", "Romania": "z Rumunii",
           "Czechoslovakia": "z Czechosłowacji", "Ireland": "z Irlandii", "Sweden": "ze Szwecji", "Alsace": "z Alzacji"},
    "cs": {"Germany": "z Německa", "China": "z Číny", "Lorraine": "z Lotrinska", "Luxembourg": "z Lucemburska",
           "Poland": "z Polska", "Austria": "z Rakouska", "Switzerland": "ze Švýcarska", "the Netherlands": "z Nizozemska",
           "Yugoslavia": "z Jugoslávie", "Hungary": "z Maďarska", "Russia": "z Ruska", "Romania": "z Rumunska",
           "Czechoslovakia": "z Československa", "Ireland": "z Irska", "Sweden": "ze Švédska", "Alsace": "z Alsaska"},
    "uk": {"Germany": "з Німеччини", "China": "з Китаю", "Lorraine": "з Лотарингії", "Luxembourg": "з Люксембургу",
           "Poland": "з Польщі", "Austria": "з Австрії", "Switzerland": "зі Швейцарії", "the Netherlands": "з Нідерландів",
           "Yugoslavia": "з Югославії", "Hungary": "з Угорщини", "Russia": "з Росії", "Romania": "з Румунії",
           "Czechoslovakia": "з Чехословаччини", "Ireland": "з Ірландії", "Sweden": "зі Швеції", "Alsace": "з Ельзасу"},
    "el": {"Germany": "από τη Γερμανία", "China": "από την Κίνα", "Lorraine": "από τη Λωρραίνη",
           "Luxembourg": "από το Λουξεμβούργο", "Poland": "από την Πολωνία", "Austria": "από την Αυστρία",
           "Switzerland": "από την Ελβετία", "the Netherlands": "από την Ολλανδία", "Yugoslavia": "από τη Γιουγκοσλαβία",
           "Hungary": "από την Ουγγαρία", "Russia": "από τη Ρωσία", "Romania": "από τη Ρουμανία",
           "Czechoslovakia": "από την Τσεχοσλοβακία", "Ireland": "από την Ιρλανδία", "Sweden": "από τη Σουηδία",
           "Alsace": "από την Αλσατία"},
    "tr": {"Germany": "Alman", "China": "Çin", "Lorraine": "Loren", "Luxembourg": "Lüksemburg", "Poland": "Polonya",
           "Austria": "Avusturya", "Switzerland": "İsviçre", "the Netherlands": "Hollanda", "Yugoslavia": "Yugoslav",
           "Hungary": "Macar", "Russia": "Rus", "Romania": "Romen", "Czechoslovakia": "Çekoslovak", "Ireland": "İrlanda",
           "Sweden": "İsveç", "Alsace": "Alsas"},
    "ar": {"Germany": "من ألمانيا", "China": "من الصين", "Lorraine": "من لورين", "Luxembourg": "من لوكسمبورغ",
           "Poland": "من بولندا", "Austria": "من النمسا", "Switzerland": "من سويسرا", "the Netherlands": "من هولندا",
           "Yugoslavia": "من يوغوسلافيا", "Hungary": "من المجر", "Russia": "من روسيا", "Romania": "من رومانيا",
           "Czechoslovakia": "من تشيكوسلوفاكيا", "Ireland": "من أيرلندا", "Sweden": "من السويد", "Alsace": "من الألزاس"},
    "hi": {"Germany": "जर्मनी का", "China": "चीन का", "Lorraine": "लोरेन का", "Luxembourg": "लक्ज़मबर्ग का", "Poland": "पोलैंड का",
           "Austria": "ऑस्ट्रिया का", "Switzerland": "स्विट्ज़रलैंड का", "the Netherlands": "नीदरलैंड्स का",
           "Yugoslavia": "यूगोस्लाविया का", "Hungary": "हंगरी का", "Russia": "रूस का", "Romania": "रोमानिया का",
           "Czechoslovakia": "चेकोस्लोवाकिया का", "Ireland": "आयरलैंड का", "Sweden": "स्वीडन का", "Alsace": "आल्सास का"},
    "ko": {"Germany": "독일", "China": "중국", "Lorraine": "로렌", "Luxembourg": "룩셈부르크", "Poland": "폴란드",
           "Austria": "오스트리아", "Switzerland": "스위스", "the Netherlands": "네덜란드", "Yugoslavia": "유고슬라비아",
           "Hungary": "헝가리", "Russia": "러시아", "Romania": "루마니아", "Czechoslovakia": "체코슬로바키아",
           "Ireland": "아일랜드", "Sweden": "스웨덴", "Alsace": "알자스"},
    "vi": {"Germany": "Đức", "China": "Trung Quốc", "Lorraine": "vùng Lorraine", "Luxembourg": "Luxembourg",
           "Poland": "Ba Lan", "Austria": "Áo", "Switzerland": "Thụy Sĩ", "the Netherlands": "Hà Lan", "Yugoslavia": "Nam Tư",
           "Hungary": "Hungary", "Russia": "Nga", "Romania": "Romania", "Czechoslovakia": "Tiệp Khắc", "Ireland": "Ireland",
           "Sweden": "Thụy Điển", "Alsace": "vùng Alsace"},
    "id": {"Germany": "dari Jerman", "China": "dari Tiongkok", "Lorraine": "dari Lorraine", "Luxembourg": "dari Luksemburg",
           "Poland": "dari Polandia", "Austria": "dari Austria", "Switzerland": "dari Swiss", "the Netherlands": "dari Belanda",
           "Yugoslavia": "dari Yugoslavia", "Hungary": "dari Hongaria", "Russia": "dari Rusia", "Romania": "dari Rumania",
           "Czechoslovakia": "dari Cekoslowakia", "Ireland": "dari Irlandia", "Sweden": "dari Swedia", "Alsace": "dari Alsace"},
    "sv": {"Germany": "från Tyskland", "China": "från Kina", "Lorraine": "från Lothringen", "Luxembourg": "från Luxemburg",
           "Poland": "från Polen", "Austria": "från Österrike", "Switzerland": "från Schweiz",
           "the Netherlands": "från Nederländerna", "Yugoslavia": "från Jugoslavien", "Hungary": "från Ungern",
           "Russia": "från Ryssland", "Romania": "från Rumänien", "Czechoslovakia": "från Tjeckoslovakien",
           "Ireland": "från Irland", "Sweden": "från Sverige", "Alsace": "från Alsace"},
    "fi": {"Germany": "saksalainen", "China": "kiinalainen", "Lorraine": "lothringeniläinen", "Luxembourg": "luxemburgilainen",
           "Poland": "puolalainen", "Austria": "itävaltalainen", "Switzerland": "sveitsiläinen", "the Netherlands": "hollantilainen",
           "Yugoslavia": "jugoslavialainen", "Hungary": "unkarilainen", "Russia": "venäläinen", "Romania": "romanialainen",
           "Czechoslovakia": "tšekkoslovakialainen", "Ireland": "irlantilainen", "Sweden": "ruotsalainen", "Alsace": "elsassilainen"},
    "da": {"Germany": "fra Tyskland", "China": "fra Kina", "Lorraine": "fra Lothringen", "Luxembourg": "fra Luxembourg",
           "Poland": "fra Polen", "Austria": "fra Østrig", "Switzerland": "fra Schweiz", "the Netherlands": "fra Nederlandene",
           "Yugoslavia": "fra Jugoslavien", "Hungary": "fra Ungarn", "Russia": "fra Rusland", "Romania": "fra Rumænien",
           "Czechoslovakia": "fra Tjekkoslovakiet", "Ireland": "fra Irland", "Sweden": "fra Sverige", "Alsace": "fra Alsace"},
    "hu": {"Germany": "német", "China": "kínai", "Lorraine": "lotaringiai", "Luxembourg": "luxemburgi", "Poland": "lengyel",
           "Austria": "osztrák", "Switzerland": "svájci", "the Netherlands": "holland", "Yugoslavia": "jugoszláv",
           "Hungary": "magyar", "Russia": "orosz", "Romania": "román", "Czechoslovakia": "csehszlovák", "Ireland": "ír",
           "Sweden": "svéd", "Alsace": "elzászi"},
    "ro": {"Germany": "din Germania", "China": "din China", "Lorraine": "din Lorena", "Luxembourg": "din Luxemburg",
           "Poland": "din Polonia", "Austria": "din Austria", "Switzerland": "din Elveția", "the Netherlands": "din Țările de Jos",
           "Yugoslavia": "din Iugoslavia", "Hungary": "din Ungaria", "Russia": "din Rusia", "Romania": "din România",
           "Czechoslovakia": "din Cehoslovacia", "Ireland": "din Irlanda", "Sweden": "din Suedia", "Alsace": "din Alsacia"},
    "ca": {"Germany": "d'Alemanya", "China": "de la Xina", "Lorraine": "de Lorena", "Luxembourg": "de Luxemburg",
           "Poland": "de Polònia", "Austria": "d'Àustria", "Switzerland": "de Suïssa", "the Netherlands": "dels Països Baixos",
           "Yugoslavia": "de Iugoslàvia", "Hungary": "d'Hongria", "Russia": "de Rússia", "Romania": "de Romania",
           "Czechoslovakia": "de Txecoslovàquia", "Ireland": "d'Irlanda", "Sweden": "de Suècia", "Alsace": "d'Alsàcia"},
    "he": {"Germany": "מגרמניה", "China": "מסין", "Lorraine": "מלוריין", "Luxembourg": "מלוקסמבורג", "Poland": "מפולין",
           "Austria": "מאוסטריה", "Switzerland": "משווייץ", "the Netherlands": "מהולנד", "Yugoslavia": "מיוגוסלביה",
           "Hungary": "מהונגריה", "Russia": "מרוסיה", "Romania": "מרומניה", "Czechoslovakia": "מצ'כוסלובקיה",
           "Ireland": "מאירלנד", "Sweden": "משוודיה", "Alsace": "מאלזס"},
    "th": {"Germany": "จากเยอรมนี", "China": "จากจีน", "Lorraine": "จากแคว้นลอแรน", "Luxembourg": "จากลักเซมเบิร์ก",
           "Poland": "จากโปแลนด์", "Austria": "จากออสเตรีย", "Switzerland": "จากสวิตเซอร์แลนด์",
           "the Netherlands": "จากเนเธอร์แลนด์", "Yugoslavia": "จากยูโกสลาเวีย", "Hungary": "จากฮังการี",
           "Russia": "จากรัสเซีย", "Romania": "จากโรมาเนีย", "Czechoslovakia": "จากเชโกสโลวาเกีย",
           "Ireland": "จากไอร์แลนด์", "Sweden": "จากสวีเดน", "Alsace": "จากแคว้นอาลซัส"},
    "fa": {"Germany": "از آلمان", "China": "از چین", "Lorraine": "از لورن", "Luxembourg": "از لوکزامبورگ", "Poland": "از لهستان",
           "Austria": "از اتریش", "Switzerland": "از سوئیس", "the Netherlands": "از هلند", "Yugoslavia": "از یوگسلاوی",
           "Hungary": "از مجارستان", "Russia": "از روسیه", "Romania": "از رومانی", "Czechoslovakia": "از چکسلواکی",
           "Ireland": "از ایرلند", "Sweden": "از سوئد", "Alsace": "از آلزاس"},
    "bn": {"Germany": "জার্মানির", "China": "চীনের", "Lorraine": "লোরেনের", "Luxembourg": "লুক্সেমবুর্গের",
           "Poland": "পোল্যান্ডের", "Austria": "অস্ট্রিয়ার", "Switzerland": "সুইজারল্যান্ডের",
           "the Netherlands": "নেদারল্যান্ডসের", "Yugoslavia": "যুগোস্লাভিয়ার", "Hungary": "হাঙ্গেরির", "Russia": "রাশিয়ার",
           "Romania": "রোমানিয়ার", "Czechoslovakia": "চেকোস্লোভাকিয়ার", "Ireland": "আয়ারল্যান্ডের", "Sweden": "সুইডেনের",
           "Alsace": "আলজাসের"},
    "nb": {"Germany": "fra Tyskland", "China": "fra Kina", "Lorraine": "fra Lorraine", "Luxembourg": "fra Luxembourg",
           "Poland": "fra Polen", "Austria": "fra Østerrike", "Switzerland": "fra Sveits", "the Netherlands": "fra Nederland",
           "Yugoslavia": "fra Jugoslavia", "Hungary": "fra Ungarn", "Russia": "fra Russland", "Romania": "fra Romania",
           "Czechoslovakia": "fra Tsjekkoslovakia", "Ireland": "fra Irland", "Sweden": "fra Sverige", "Alsace": "fra Alsace"},
    "hr": {"Germany": "iz Njemačke", "China": "iz Kine", "Lorraine": "iz Lorene", "Luxembourg": "iz Luksemburga",
           "Poland": "iz Poljske", "Austria": "iz Austrije", "Switzerland": "iz Švicarske", "the Netherlands": "iz Nizozemske",
           "Yugoslavia": "iz Jugoslavije", "Hungary": "iz Mađarske", "Russia": "iz Rusije", "Romania": "iz Rumunjske",
           "Czechoslovakia": "iz Čehoslovačke", "Ireland": "iz Irske", "Sweden": "iz Švedske", "Alsace": "iz Alzasa"},
    "bg": {"Germany": "от Германия", "China": "от Китай", "Lorraine": "от Лотарингия", "Luxembourg": "от Люксембург",
           "Poland": "от Полша", "Austria": "от Австрия", "Switzerland": "от Швейцария", "the Netherlands": "от Нидерландия",
           "Yugoslavia": "от Югославия", "Hungary": "от Унгария", "Russia": "от Русия", "Romania": "от Румъния",
           "Czechoslovakia": "от Чехословакия", "Ireland": "от Ирландия", "Sweden": "от Швеция", "Alsace": "от Елзас"},
    "sk": {"Germany": "z Nemecka", "China": "z Číny", "Lorraine": "z Lotrinska", "Luxembourg": "z Luxemburska",
           "Poland": "z Poľska", "Austria": "z Rakúska", "Switzerland": "zo Švajčiarska", "the Netherlands": "z Holandska",
           "Yugoslavia": "z Juhoslávie", "Hungary": "z Maďarska", "Russia": "z Ruska", "Romania": "z Rumunska",
           "Czechoslovakia": "z Československa", "Ireland": "z Írska", "Sweden": "zo Švédska", "Alsace": "z Alsaska"},
    "lt": {"Germany": "iš Vokietijos", "China": "iš Kinijos", "Lorraine": "iš Lotaringijos", "Luxembourg": "iš Liuksemburgo",
           "Poland": "iš Lenkijos", "Austria": "iš Austrijos", "Switzerland": "iš Šveicarijos", "the Netherlands": "iš Nyderlandų",
           "Yugoslavia": "iš Jugoslavijos", "Hungary": "iš Vengrijos", "Russia": "iš Rusijos", "Romania": "iš Rumunijos",
           "Czechoslovakia": "iš Čekoslovakijos", "Ireland": "iš Airijos", "Sweden": "iš Švedijos", "Alsace": "iš Elzaso"},
    "sr": {"Germany": "из Немачке", "China": "из Кине", "Lorraine": "из Лорене", "Luxembourg": "из Луксембурга",
           "Poland": "из Пољске", "Austria": "из Аустрије", "Switzerland": "из Швајцарске", "the Netherlands": "из Холандије",
           "Yugoslavia": "из Југославије", "Hungary": "из Мађарске", "Russia": "из Русије", "Romania": "из Румуније",
           "Czechoslovakia": "из Чехословачке", "Ireland": "из Ирске", "Sweden": "из Шведске", "Alsace": "из Алзаса"},
}
# The Chinese provinces of the Essen collection: pinyin in Latin-script languages, else the name
# the language uses (Sino-Vietnamese readings in Vietnamese; "성" where Korean says it).
_PROVINCE_NAMES = ("Shanxi", "Shaanxi", "Hebei", "Jiangsu", "Yunnan", "Hunan", "Sichuan", "Gansu", "Taiwan", "Shandong",
                   "Zhejiang", "Anhui", "Henan", "Hubei", "Guangdong", "Guangxi", "Fujian", "Jiangxi", "Guizhou",
                   "Qinghai", "Ningxia", "Xinjiang", "Neimenggu", "Liaoning", "Jilin", "Heilongjiang", "Xizang",
                   "Shanghai", "Beijing")
_PINYIN = {p: p for p in _PROVINCE_NAMES}
PROVINCES = {
    "en": _PINYIN, "de": _PINYIN, "fr": _PINYIN, "es": _PINYIN, "it": _PINYIN,
    "zh": {"Shanxi": "山西", "Shaanxi": "陕西", "Hebei": "河北", "Jiangsu": "江苏", "Yunnan": "云南", "Hunan": "湖南",
           "Sichuan": "四川", "Gansu": "甘肃", "Taiwan": "台湾", "Shandong": "山东", "Zhejiang": "浙江", "Anhui": "安徽",
           "Henan": "河南", "Hubei": "湖北", "Guangdong": "广东", "Guangxi": "广西", "Fujian": "福建", "Jiangxi": "江西",
           "Guizhou": "贵州", "Qinghai": "青海", "Ningxia": "宁夏", "Xinjiang": "新疆", "Neimenggu": "内蒙古",
           "Liaoning": "辽宁", "Jilin": "吉林", "Heilongjiang": "黑龙江", "Xizang": "西藏", "Shanghai": "上海",
           "Beijing": "北京"},
    "ja": {"Shanxi": "山西", "Shaanxi": "陝西", "Hebei": "河北", "Jiangsu": "江蘇", "Yunnan": "雲南", "Hunan": "湖南",
           "Sichuan": "四川", "Gansu": "甘粛", "Taiwan": "台湾", "Shandong": "山東", "Zhejiang": "浙江", "Anhui": "安徽",
           "Henan": "河南", "Hubei": "湖北", "Guangdong": "広東", "Guangxi": "広西", "Fujian": "福建", "Jiangxi": "江西",
           "Guizhou": "貴州", "Qinghai": "青海", "Ningxia": "寧夏", "Xinjiang": "新疆", "Neimenggu": "内モンゴル",
           "Liaoning": "遼寧", "Jilin": "吉林", "Heilongjiang": "黒竜江", "Xizang": "チベット", "Shanghai": "上海",
           "Beijing": "北京"},
    "ru": {"Shanxi": "Шаньси", "Shaanxi": "Шэньси", "Hebei": "Хэбэй", "Jiangsu": "Цзянсу", "Yunnan": "Юньнань",
           "Hunan": "Хунань", "Sichuan": "Сычуань", "Gansu": "Ганьсу", "Taiwan": "Тайвань", "Shandong": "Шаньдун",
           "Zhejiang": "Чжэцзян", "Anhui": "Аньхой", "Henan": "Хэнань", "Hubei": "Хубэй", "Guangdong": "Гуандун",
           "Guangxi": "Гуанси", "Fujian": "Фуцзянь", "Jiangxi": "Цзянси", "Guizhou": "Гуйчжоу", "Qinghai": "Цинхай",
           "Ningxia": "Нинся", "Xinjiang": "Синьцзян", "Neimenggu": "Внутренняя Монголия", "Liaoning": "Ляонин",
           "Jilin": "Цзилинь", "Heilongjiang": "Хэйлунцзян", "Xizang": "Тибет", "Shanghai": "Шанхай", "Beijing": "Пекин"},
    "pt": _PINYIN, "nl": _PINYIN, "pl": _PINYIN, "cs": _PINYIN,
    "uk": {"Shanxi": "Шаньсі", "Shaanxi": "Шеньсі", "Hebei": "Хебей", "Jiangsu": "Цзянсу", "Yunnan": "Юньнань",
           "Hunan": "Хунань", "Sichuan": "Сичуань", "Gansu": "Ганьсу", "Taiwan": "Тайвань", "Shandong": "Шаньдун",
           "Zhejiang": "Чжецзян", "Anhui": "Аньхой", "Henan": "Хенань", "Hubei": "Хубей", "Guangdong": "Гуандун",
           "Guangxi": "Гуансі", "Fujian": "Фуцзянь", "Jiangxi": "Цзянсі", "Guizhou": "Гуйчжоу", "Qinghai": "Цинхай",
           "Ningxia": "Нінся", "Xinjiang": "Сіньцзян", "Neimenggu": "Внутрішня Монголія", "Liaoning": "Ляонін",
           "Jilin": "Цзілінь", "Heilongjiang": "Хейлунцзян", "Xizang": "Тибет", "Shanghai": "Шанхай", "Beijing": "Пекін"},
    "el": {"Shanxi": "Σανσί", "Shaanxi": "Σαανσί", "Hebei": "Χεμπέι", "Jiangsu": "Τζιανγκσού", "Yunnan": "Γιουνάν",
           "Hunan": "Χουνάν", "Sichuan": "Σετσουάν", "Gansu": "Γκανσού", "Taiwan": "Ταϊβάν", "Shandong": "Σαντόνγκ",
           "Zhejiang": "Τζετζιάνγκ", "Anhui": "Ανχουέι", "Henan": "Χενάν", "Hubei": "Χουμπέι", "Guangdong": "Γκουανγκντόνγκ",
           "Guangxi": "Γκουανγκσί", "Fujian": "Φουτζιάν", "Jiangxi": "Τζιανγκσί", "Guizhou": "Γκουιτζόου",
           "Qinghai": "Τσινγκχάι", "Ningxia": "Νινγκσιά", "Xinjiang": "Σιντζιάνγκ", "Neimenggu": "Εσωτερική Μογγολία",
           "Liaoning": "Λιαονίνγκ", "Jilin": "Τζιλίν", "Heilongjiang": "Χεϊλονγκτζιάνγκ", "Xizang": "Θιβέτ",
           "Shanghai": "Σαγκάη", "Beijing": "Πεκίνο"},
    "tr": _PINYIN,
    "ar": {"Shanxi": "شانشي", "Shaanxi": "شنشي", "Hebei": "خبي", "Jiangsu": "جيانغسو", "Yunnan": "يونان", "Hunan": "هونان",
           "Sichuan": "سيتشوان", "Gansu": "قانسو", "Taiwan": "تايوان", "Shandong": "شاندونغ", "Zhejiang": "تشجيانغ",
           "Anhui": "آنهوي", "Henan": "خنان", "Hubei": "هوبي", "Guangdong": "قوانغدونغ", "Guangxi": "قوانغشي",
           "Fujian": "فوجيان", "Jiangxi": "جيانغشي", "Guizhou": "قويتشو", "Qinghai": "تشينغهاي", "Ningxia": "نينغشيا",
           "Xinjiang": "شينجيانغ", "Neimenggu": "منغوليا الداخلية", "Liaoning": "لياونينغ", "Jilin": "جيلين",
           "Heilongjiang": "هيلونغجيانغ", "Xizang": "التبت", "Shanghai": "شانغهاي", "Beijing": "بكين"},
    "hi": {"Shanxi": "शान्सी", "Shaanxi": "शेन्सी", "Hebei": "हेबेई", "Jiangsu": "च्यांगसू", "Yunnan": "युन्नान",
           "Hunan": "हुनान", "Sichuan": "सिचुआन", "Gansu": "गांसू", "Taiwan": "ताइवान", "Shandong": "शानदोंग",
           "Zhejiang": "झेजियांग", "Anhui": "आनहुई", "Henan": "हेनान", "Hubei": "हूबेई", "Guangdong": "ग्वांगडोंग",
           "Guangxi": "ग्वांगशी", "Fujian": "फ़ुजियान", "Jiangxi": "च्यांगशी", "Guizhou": "गुइझोउ", "Qinghai": "चिंगहाई",
           "Ningxia": "निंगशिया", "Xinjiang": "शिनजियांग", "Neimenggu": "भीतरी मंगोलिया", "Liaoning": "लियाओनिंग",
           "Jilin": "जिलिन", "Heilongjiang": "हेइलोंगजियांग", "Xizang": "तिब्बत", "Shanghai": "शंघाई", "Beijing": "बीजिंग"},
    "ko": {"Shanxi": "산시성", "Shaanxi": "섬서성", "Hebei": "허베이성", "Jiangsu": "장쑤성", "Yunnan": "윈난성",
           "Hunan": "후난성", "Sichuan": "쓰촨성", "Gansu": "간쑤성", "Taiwan": "타이완", "Shandong": "산둥성",
           "Zhejiang": "저장성", "Anhui": "안후이성", "Henan": "허난성", "Hubei": "후베이성", "Guangdong": "광둥성",
           "Guangxi": "광시", "Fujian": "푸젠성", "Jiangxi": "장시성", "Guizhou": "구이저우성", "Qinghai": "칭하이성",
           "Ningxia": "닝샤", "Xinjiang": "신장", "Neimenggu": "내몽골", "Liaoning": "랴오닝성", "Jilin": "지린성",
           "Heilongjiang": "헤이룽장성", "Xizang": "티베트", "Shanghai": "상하이", "Beijing": "베이징"},
    "vi": {"Shanxi": "Sơn Tây", "Shaanxi": "Thiểm Tây", "Hebei": "Hà Bắc", "Jiangsu": "Giang Tô", "Yunnan": "Vân Nam",
           "Hunan": "Hồ Nam", "Sichuan": "Tứ Xuyên", "Gansu": "Cam Túc", "Taiwan": "Đài Loan", "Shandong": "Sơn Đông",
           "Zhejiang": "Chiết Giang", "Anhui": "An Huy", "Henan": "Hà Nam", "Hubei": "Hồ Bắc", "Guangdong": "Quảng Đông",
           "Guangxi": "Quảng Tây", "Fujian": "Phúc Kiến", "Jiangxi": "Giang Tây", "Guizhou": "Quý Châu",
           "Qinghai": "Thanh Hải", "Ningxia": "Ninh Hạ", "Xinjiang": "Tân Cương", "Neimenggu": "Nội Mông",
           "Liaoning": "Liêu Ninh", "Jilin": "Cát Lâm", "Heilongjiang": "Hắc Long Giang", "Xizang": "Tây Tạng",
           "Shanghai": "Thượng Hải", "Beijing": "Bắc Kinh"},
    "id": _PINYIN, "sv": _PINYIN, "fi": _PINYIN, "da": _PINYIN, "hu": _PINYIN, "ro": _PINYIN, "ca": _PINYIN,
    "he": {"Shanxi": "שאנשי", "Shaanxi": "שאאנשי", "Hebei": "חביי", "Jiangsu": "ג'יאנגסו", "Yunnan": "יונאן",
           "Hunan": "הונאן", "Sichuan": "סצ'ואן", "Gansu": "גאנסו", "Taiwan": "טאיוואן", "Shandong": "שאנדונג",
           "Zhejiang": "ג'ג'יאנג", "Anhui": "אנהוי", "Henan": "הנאן", "Hubei": "הוביי", "Guangdong": "גואנגדונג",
           "Guangxi": "גואנגשי", "Fujian": "פוג'יאן", "Jiangxi": "ג'יאנגשי", "Guizhou": "גוויג'ואו", "Qinghai": "צ'ינגהאי",
           "Ningxia": "נינגשיה", "Xinjiang": "שינג'יאנג", "Neimenggu": "מונגוליה הפנימית", "Liaoning": "ליאונינג",
           "Jilin": "ג'ילין", "Heilongjiang": "היילונגג'יאנג", "Xizang": "טיבט", "Shanghai": "שנגחאי", "Beijing": "בייג'ינג"},
    "th": {"Shanxi": "ชานซี", "Shaanxi": "ฉ่านซี", "Hebei": "เหอเป่ย์", "Jiangsu": "เจียงซู", "Yunnan": "ยูนนาน",
           "Hunan": "หูหนาน", "Sichuan": "เสฉวน", "Gansu": "กานซู่", "Taiwan": "ไต้หวัน", "Shandong": "ชานตง",
           "Zhejiang": "เจ้อเจียง", "Anhui": "อานฮุย", "Henan": "เหอหนาน", "Hubei": "หูเป่ย์", "Guangdong": "กวางตุ้ง",
           "Guangxi": "กว่างซี", "Fujian": "ฝูเจี้ยน", "Jiangxi": "เจียงซี", "Guizhou": "กุ้ยโจว", "Qinghai": "ชิงไห่",
           "Ningxia": "หนิงเซี่ย", "Xinjiang": "ซินเจียง", "Neimenggu": "มองโกเลียใน", "Liaoning": "เหลียวหนิง",
           "Jilin": "จี๋หลิน", "Heilongjiang": "เฮย์หลงเจียง", "Xizang": "ทิเบต", "Shanghai": "เซี่ยงไฮ้", "Beijing": "ปักกิ่ง"},
    "fa": {"Shanxi": "شانشی", "Shaanxi": "شنشی", "Hebei": "هبی", "Jiangsu": "جیانگسو", "Yunnan": "یوننان", "Hunan": "هونان",
           "Sichuan": "سیچوان", "Gansu": "گانسو", "Taiwan": "تایوان", "Shandong": "شاندونگ", "Zhejiang": "ژجیانگ",
           "Anhui": "آنهویی", "Henan": "هنان", "Hubei": "هوبی", "Guangdong": "گوانگدونگ", "Guangxi": "گوانگشی",
           "Fujian": "فوجیان", "Jiangxi": "جیانگشی", "Guizhou": "گوئیژو", "Qinghai": "چینگهای", "Ningxia": "نینگشیا",
           "Xinjiang": "سین‌کیانگ", "Neimenggu": "مغولستان داخلی", "Liaoning": "لیائونینگ", "Jilin": "جیلین",
           "Heilongjiang": "هیلونگجیانگ", "Xizang": "تبت", "Shanghai": "شانگهای", "Beijing": "پکن"},
    "bn": {"Shanxi": "শানসি", "Shaanxi": "শায়ানসি", "Hebei": "হেবেই", "Jiangsu": "চিয়াংসু", "Yunnan": "ইউনান",
           "Hunan": "হুনান", "Sichuan": "সিচুয়ান", "Gansu": "গানসু", "Taiwan": "তাইওয়ান", "Shandong": "শানতুং",
           "Zhejiang": "চেচিয়াং", "Anhui": "আনহুই", "Henan": "হেনান", "Hubei": "হুবেই", "Guangdong": "কুয়াংতুং",
           "Guangxi": "কুয়াংসি", "Fujian": "ফুচিয়েন", "Jiangxi": "চিয়াংসি", "Guizhou": "কুইচৌ", "Qinghai": "ছিংহাই",
           "Ningxia": "নিংসিয়া", "Xinjiang": "সিনচিয়াং", "Neimenggu": "অন্তর্মঙ্গোলিয়া", "Liaoning": "লিয়াওনিং",
           "Jilin": "চিলিন", "Heilongjiang": "হেইলুংচিয়াং", "Xizang": "তিব্বত", "Shanghai": "সাংহাই", "Beijing": "বেইজিং"},
    "nb": _PINYIN,
    "hr": {**_PINYIN, "Neimenggu": "Unutarnja Mongolija", "Xizang": "Tibet", "Shanghai": "Šangaj", "Beijing": "Peking"},
    "bg": {"Shanxi": "Шанси", "Shaanxi": "Шънси", "Hebei": "Хъбей", "Jiangsu": "Дзянсу", "Yunnan": "Юннан", "Hunan": "Хунан",
           "Sichuan": "Съчуан", "Gansu": "Гансу", "Taiwan": "Тайван", "Shandong": "Шандун", "Zhejiang": "Джъдзян",
           "Anhui": "Анхуей", "Henan": "Хънан", "Hubei": "Хубей", "Guangdong": "Гуандун", "Guangxi": "Гуанси",
           "Fujian": "Фудзиен", "Jiangxi": "Дзянси", "Guizhou": "Гуейджоу", "Qinghai": "Цинхай", "Ningxia": "Нинся",
           "Xinjiang": "Синдзян", "Neimenggu": "Вътрешна Монголия", "Liaoning": "Ляонин", "Jilin": "Дзилин",
           "Heilongjiang": "Хъйлундзян", "Xizang": "Тибет", "Shanghai": "Шанхай", "Beijing": "Пекин"},
    "sk": {**_PINYIN, "Neimenggu": "Vnútorné Mongolsko", "Xizang": "Tibet", "Shanghai": "Šanghaj", "Beijing": "Peking"},
    "lt": {**_PINYIN, "Neimenggu": "Vidinė Mongolija", "Xizang": "Tibetas", "Shanghai": "Šanchajus", "Beijing": "Pekinas"},
    "sr": {"Shanxi": "Шанси", "Shaanxi": "Шенси", "Hebei": "Хебеј", "Jiangsu": "Ђангсу", "Yunnan": "Јунан", "Hunan": "Хунан",
           "Sichuan": "Сечуан", "Gansu": "Гансу", "Taiwan": "Тајван", "Shandong": "Шандунг", "Zhejiang": "Џеђанг",
           "Anhui": "Анхуеј", "Henan": "Хенан", "Hubei": "Хубеј", "Guangdong": "Гуангдунг", "Guangxi": "Гуангси",
           "Fujian": "Фуђен", "Jiangxi": "Ђангси", "Guizhou": "Гуејџоу", "Qinghai": "Ћингхај", "Ningxia": "Нингсја",
           "Xinjiang": "Синкјанг", "Neimenggu": "Унутрашња Монголија", "Liaoning": "Љаонинг", "Jilin": "Ђилин",
           "Heilongjiang": "Хејлунгђанг", "Xizang": "Тибет", "Shanghai": "Шангај", "Beijing": "Пекинг"},
}
TUNE_TYPES = {
    "en": {"jig": "a jig", "reel": "a reel", "hornpipe": "a hornpipe", "slip jig": "a slip jig",
           "strathspey": "a strathspey", "air": "a slow air"},
    "de": {"jig": "ein Jig", "reel": "ein Reel", "hornpipe": "ein Hornpipe", "slip jig": "ein Slip Jig",
           "strathspey": "ein Strathspey", "air": "eine langsame Air"},
    "fr": {"jig": "une gigue (jig)", "reel": "un reel", "hornpipe": "un hornpipe", "slip jig": "un slip jig",
           "strathspey": "un strathspey", "air": "un air lent"},
    "es": {"jig": "una giga (jig)", "reel": "un reel", "hornpipe": "un hornpipe", "slip jig": "un slip jig",
           "strathspey": "un strathspey", "air": "un aire lento"},
    "it": {"jig": "una giga (jig)", "reel": "un reel", "hornpipe": "un hornpipe", "slip jig": "uno slip jig",
           "strathspey": "uno strathspey", "air": "un'aria lenta"},
    "zh": {"jig": "吉格舞曲", "reel": "里尔舞曲", "hornpipe": "角笛舞曲", "slip jig": "滑步吉格舞曲", "strathspey": "斯特拉斯佩舞曲",
           "air": "慢板曲调"},
    "ja": {"jig": "ジグ", "reel": "リール", "hornpipe": "ホーンパイプ", "slip jig": "スリップジグ", "strathspey": "ストラスペイ",
           "air": "スロー・エア"},
    "ru": {"jig": "джига", "reel": "рил", "hornpipe": "хорнпайп", "slip jig": "слип-джига", "strathspey": "стратспей",
           "air": "медленный эйр"},
    "pt": {"jig": "um jig", "reel": "um reel", "hornpipe": "um hornpipe", "slip jig": "um slip jig",
           "strathspey": "um strathspey", "air": "uma ária lenta (air)"},
    "nl": {"jig": "een jig", "reel": "een reel", "hornpipe": "een hornpipe", "slip jig": "een slip jig",
           "strathspey": "een strathspey", "air": "een langzame air"},
    "pl": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "wolna melodia (air)"},
    "cs": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "pomalá melodie (air)"},
    "uk": {"jig": "джиґа", "reel": "рил", "hornpipe": "горнпайп", "slip jig": "сліп-джиґа", "strathspey": "стратспей",
           "air": "повільна мелодія (ейр)"},
    "el": {"jig": "ένα τζιγκ", "reel": "ένα ριλ", "hornpipe": "ένα χόρνπαϊπ", "slip jig": "ένα σλιπ τζιγκ",
           "strathspey": "ένα στράθσπεϊ", "air": "μια αργή μελωδία (air)"},
    "tr": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "ağır bir ezgi (air)"},
    "ar": {"jig": "جيغ", "reel": "ريل", "hornpipe": "هورنبايب", "slip jig": "سليب جيغ", "strathspey": "ستراثسبي",
           "air": "لحن بطيء (إير)"},
    "hi": {"jig": "जिग", "reel": "रील", "hornpipe": "हॉर्नपाइप", "slip jig": "स्लिप जिग", "strathspey": "स्ट्रैथस्पे",
           "air": "धीमी धुन (एयर)"},
    "ko": {"jig": "지그", "reel": "릴", "hornpipe": "혼파이프", "slip jig": "슬립 지그", "strathspey": "스트래스페이",
           "air": "느린 에어"},
    "vi": {"jig": "điệu jig", "reel": "điệu reel", "hornpipe": "điệu hornpipe", "slip jig": "điệu slip jig",
           "strathspey": "điệu strathspey", "air": "khúc air chậm"},
    "id": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "lagu lambat (air)"},
    "sv": {"jig": "en jig", "reel": "en reel", "hornpipe": "en hornpipe", "slip jig": "en slip jig",
           "strathspey": "en strathspey", "air": "en långsam air"},
    "fi": {"jig": "jigi", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "hidas air-sävelmä"},
    "da": {"jig": "en jig", "reel": "en reel", "hornpipe": "en hornpipe", "slip jig": "en slip jig",
           "strathspey": "en strathspey", "air": "en langsom air"},
    "hu": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "lassú dallam (air)"},
    "ro": {"jig": "un jig", "reel": "un reel", "hornpipe": "un hornpipe", "slip jig": "un slip jig",
           "strathspey": "un strathspey", "air": "o melodie lentă (air)"},
    "ca": {"jig": "una giga (jig)", "reel": "un reel", "hornpipe": "un hornpipe", "slip jig": "un slip jig",
           "strathspey": "un strathspey", "air": "una melodia lenta (air)"},
    "he": {"jig": "ג'יג", "reel": "ריל", "hornpipe": "הורנפייפ", "slip jig": "סליפ ג'יג", "strathspey": "סטראתספיי",
           "air": "מנגינה איטית (אייר)"},
    "th": {"jig": "จิก", "reel": "รีล", "hornpipe": "ฮอร์นไพป์", "slip jig": "สลิปจิก", "strathspey": "สตราธสเปย์",
           "air": "ทำนองช้า (แอร์)"},
    "fa": {"jig": "جیگ", "reel": "ریل", "hornpipe": "هورن‌پایپ", "slip jig": "اسلیپ جیگ", "strathspey": "استراتسپی",
           "air": "نغمه‌ای آرام (ایر)"},
    "bn": {"jig": "জিগ", "reel": "রিল", "hornpipe": "হর্নপাইপ", "slip jig": "স্লিপ জিগ", "strathspey": "স্ট্র্যাথস্পে",
           "air": "ধীর লয়ের সুর (এয়ার)"},
    "nb": {"jig": "en jig", "reel": "en reel", "hornpipe": "en hornpipe", "slip jig": "en slip jig",
           "strathspey": "en strathspey", "air": "en langsom air"},
    "hr": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "spora melodija (air)"},
    "bg": {"jig": "джига", "reel": "рийл", "hornpipe": "хорнпайп", "slip jig": "слип джига", "strathspey": "стратспей",
           "air": "бавна мелодия (еър)"},
    "sk": {"jig": "jig", "reel": "reel", "hornpipe": "hornpipe", "slip jig": "slip jig", "strathspey": "strathspey",
           "air": "pomalá melódia (air)"},
    "lt": {"jig": "džigas", "reel": "rilas", "hornpipe": "hornpaipas", "slip jig": "slip džigas", "strathspey": "stratspėjus",
           "air": "lėta melodija (air)"},
    "sr": {"jig": "џиг", "reel": "рил", "hornpipe": "хорнпајп", "slip jig": "слип џиг", "strathspey": "стратспеј",
           "air": "спора мелодија (ер)"},
}
# song function -> the keyword of the Essen R: field that names it (demo.corpus reads it; first match wins)
FUNCTION_KEYWORDS = {
    "love": "liebe", "lullaby": "wiegen", "children": "kinder", "ballad": "ballade", "romance": "romanze", "dance": "tanz",
    "religious": "relig", "soldier": "soldat", "work": "haozi", "mountain": "shange", "xiaodiao": "xiaodiao",
    "narrative": "erzaehl", "humorous": "scherz",
}
FUNCTIONS = {
    "en": {"love": "love song", "lullaby": "lullaby", "children": "children's song", "ballad": "ballad", "romance": "romance",
           "dance": "dance song", "religious": "religious song", "soldier": "soldiers' song", "work": "work song",
           "mountain": "mountain song (shan'ge)", "xiaodiao": "ditty (xiaodiao)", "narrative": "narrative song",
           "humorous": "humorous song"},
    "de": {"love": "ein Liebeslied", "lullaby": "ein Wiegenlied", "children": "ein Kinderlied", "ballad": "eine Ballade",
           "romance": "eine Romanze", "dance": "ein Tanzlied", "religious": "ein geistliches Lied",
           "soldier": "ein Soldatenlied", "work": "ein Arbeitslied", "mountain": "ein Berglied (Shan'ge)",
           "xiaodiao": "ein kleines Lied (Xiaodiao)", "narrative": "ein Erzähllied", "humorous": "ein Scherzlied"},
    "fr": {"love": "une chanson d'amour", "lullaby": "une berceuse", "children": "une chanson pour enfants",
           "ballad": "une ballade", "romance": "une romance", "dance": "une chanson à danser",
           "religious": "un chant religieux", "soldier": "une chanson de soldats", "work": "une chanson de travail",
           "mountain": "un chant des montagnes (shan'ge)", "xiaodiao": "une petite chanson (xiaodiao)",
           "narrative": "une chanson narrative", "humorous": "une chanson humoristique"},
    "es": {"love": "una canción de amor", "lullaby": "una canción de cuna", "children": "una canción infantil",
           "ballad": "una balada", "romance": "un romance", "dance": "una canción de baile",
           "religious": "una canción religiosa", "soldier": "una canción de soldados", "work": "una canción de trabajo",
           "mountain": "una canción de montaña (shan'ge)", "xiaodiao": "una cancioncilla (xiaodiao)",
           "narrative": "una canción narrativa", "humorous": "una canción humorística"},
    "it": {"love": "una canzone d'amore", "lullaby": "una ninna nanna", "children": "una canzone per bambini",
           "ballad": "una ballata", "romance": "una romanza", "dance": "una canzone a ballo",
           "religious": "un canto religioso", "soldier": "una canzone di soldati", "work": "un canto di lavoro",
           "mountain": "un canto di montagna (shan'ge)", "xiaodiao": "una canzoncina (xiaodiao)",
           "narrative": "una canzone narrativa", "humorous": "una canzone scherzosa"},
    "zh": {"love": "情歌", "lullaby": "摇篮曲", "children": "儿歌", "ballad": "叙事曲", "romance": "浪漫曲", "dance": "舞蹈歌曲",
           "religious": "宗教歌曲", "soldier": "士兵歌曲", "work": "劳动号子", "mountain": "山歌", "xiaodiao": "小调",
           "narrative": "叙事歌", "humorous": "诙谐歌曲"},
    "ja": {"love": "恋の歌", "lullaby": "子守歌", "children": "童謡", "ballad": "バラード", "romance": "ロマンス", "dance": "踊りの歌",
           "religious": "宗教歌", "soldier": "兵士の歌", "work": "労働歌", "mountain": "山歌", "xiaodiao": "小調",
           "narrative": "物語歌", "humorous": "おどけ歌"},
    "ru": {"love": "песня о любви", "lullaby": "колыбельная", "children": "детская песня", "ballad": "баллада",
           "romance": "романс", "dance": "плясовая песня", "religious": "духовная песня", "soldier": "солдатская песня",
           "work": "трудовая песня", "mountain": "горная песня (шаньгэ)", "xiaodiao": "песенка (сяодяо)",
           "narrative": "повествовательная песня", "humorous": "шуточная песня"},
    "pt": {"love": "uma canção de amor", "lullaby": "uma canção de ninar", "children": "uma canção infantil",
           "ballad": "uma balada", "romance": "uma romança", "dance": "uma canção de dança",
           "religious": "um canto religioso", "soldier": "uma canção de soldados", "work": "um canto de trabalho",
           "mountain": "um canto da montanha (shan'ge)", "xiaodiao": "uma cançoneta (xiaodiao)",
           "narrative": "uma canção narrativa", "humorous": "uma canção humorística"},
    "nl": {"love": "een liefdeslied", "lullaby": "een wiegenlied", "children": "een kinderliedje", "ballad": "een ballade",
           "romance": "een romance", "dance": "een danslied", "religious": "een geestelijk lied",
           "soldier": "een soldatenlied", "work": "een werklied", "mountain": "een berglied (shan'ge)",
           "xiaodiao": "een liedje (xiaodiao)", "narrative": "een verhalend lied", "humorous": "een schertslied"},
    "pl": {"love": "piosenka miłosna", "lullaby": "kołysanka", "children": "piosenka dla dzieci", "ballad": "ballada",
           "romance": "romans", "dance": "pieśń taneczna", "religious": "pieśń religijna", "soldier": "pieśń żołnierska",
           "work": "pieśń przy pracy", "mountain": "pieśń górska (shan'ge)", "xiaodiao": "piosenka (xiaodiao)",
           "narrative": "pieśń epicka", "humorous": "piosenka żartobliwa"},
    "cs": {"love": "milostná píseň", "lullaby": "ukolébavka", "children": "dětská píseň", "ballad": "balada",
           "romance": "romance", "dance": "taneční píseň", "religious": "duchovní píseň", "soldier": "vojenská píseň",
           "work": "pracovní píseň", "mountain": "horská píseň (shan'ge)", "xiaodiao": "písnička (xiaodiao)",
           "narrative": "epická píseň", "humorous": "žertovná píseň"},
    "uk": {"love": "пісня про кохання", "lullaby": "колискова", "children": "дитяча пісня", "ballad": "балада",
           "romance": "романс", "dance": "танцювальна пісня", "religious": "духовна пісня", "soldier": "солдатська пісня",
           "work": "трудова пісня", "mountain": "гірська пісня (шаньґе)", "xiaodiao": "пісенька (сяодяо)",
           "narrative": "оповідна пісня", "humorous": "жартівлива пісня"},
    "el": {"love": "ερωτικό τραγούδι", "lullaby": "νανούρισμα", "children": "παιδικό τραγούδι", "ballad": "μπαλάντα",
           "romance": "ρομάντζα", "dance": "χορευτικό τραγούδι", "religious": "θρησκευτικό τραγούδι",
           "soldier": "στρατιωτικό τραγούδι", "work": "τραγούδι της δουλειάς", "mountain": "τραγούδι του βουνού (shan'ge)",
           "xiaodiao": "τραγουδάκι (xiaodiao)", "narrative": "αφηγηματικό τραγούδι", "humorous": "χιουμοριστικό τραγούδι"},
    "tr": {"love": "aşk şarkısı", "lullaby": "ninni", "children": "çocuk şarkısı", "ballad": "balad", "romance": "romans",
           "dance": "oyun havası", "religious": "dini şarkı", "soldier": "asker türküsü", "work": "iş türküsü",
           "mountain": "dağ türküsü (shan'ge)", "xiaodiao": "kısa şarkı (xiaodiao)", "narrative": "hikâye türküsü",
           "humorous": "mizahi türkü"},
    "ar": {"love": "أغنية حب", "lullaby": "تهويدة", "children": "أغنية أطفال", "ballad": "أغنية قصصية (بالاد)",
           "romance": "رومانسة", "dance": "أغنية راقصة", "religious": "ترنيمة دينية", "soldier": "أغنية جنود",
           "work": "أغنية عمل", "mountain": "أغنية جبلية (شانغه)", "xiaodiao": "أغنية قصيرة (شياودياو)",
           "narrative": "أغنية سردية", "humorous": "أغنية فكاهية"},
    "hi": {"love": "प्रेम गीत", "lullaby": "लोरी", "children": "बाल गीत", "ballad": "गाथा गीत (बैलेड)", "romance": "रोमांस",
           "dance": "नृत्य गीत", "religious": "धार्मिक गीत", "soldier": "सैनिकों का गीत", "work": "श्रम गीत",
           "mountain": "पहाड़ी गीत (शान-गे)", "xiaodiao": "छोटा गीत (श्याओदियाओ)", "narrative": "कथा गीत",
           "humorous": "हास्य गीत"},
    "ko": {"love": "사랑 노래", "lullaby": "자장가", "children": "동요", "ballad": "발라드", "romance": "로망스", "dance": "춤곡",
           "religious": "종교 노래", "soldier": "군가", "work": "노동요", "mountain": "산가(山歌)", "xiaodiao": "소조(小調)",
           "narrative": "서사 민요", "humorous": "익살스러운 노래"},
    "vi": {"love": "bài tình ca", "lullaby": "bài hát ru", "children": "bài hát thiếu nhi", "ballad": "khúc ballad",
           "romance": "khúc romance", "dance": "bài hát múa", "religious": "bài hát tôn giáo", "soldier": "bài hát người lính",
           "work": "bài hò lao động", "mountain": "bài hát miền núi (sơn ca)", "xiaodiao": "khúc tiểu điệu (xiaodiao)",
           "narrative": "bài hát kể chuyện", "humorous": "bài hát hài hước"},
    "id": {"love": "lagu cinta", "lullaby": "lagu nina bobo", "children": "lagu anak-anak", "ballad": "balada",
           "romance": "romansa", "dance": "lagu tari", "religious": "lagu rohani", "soldier": "lagu prajurit",
           "work": "lagu kerja", "mountain": "lagu gunung (shan'ge)", "xiaodiao": "lagu pendek (xiaodiao)",
           "narrative": "lagu bercerita", "humorous": "lagu jenaka"},
    "sv": {"love": "en kärleksvisa", "lullaby": "en vaggvisa", "children": "en barnvisa", "ballad": "en ballad",
           "romance": "en romans", "dance": "en dansvisa", "religious": "en andlig visa", "soldier": "en soldatvisa",
           "work": "en arbetssång", "mountain": "en bergssång (shan'ge)", "xiaodiao": "en liten visa (xiaodiao)",
           "narrative": "en berättande visa", "humorous": "en skämtvisa"},
    "fi": {"love": "rakkauslaulu", "lullaby": "kehtolaulu", "children": "lastenlaulu", "ballad": "balladi",
           "romance": "romanssi", "dance": "tanssilaulu", "religious": "hengellinen laulu", "soldier": "sotilaslaulu",
           "work": "työlaulu", "mountain": "vuorilaulu (shan'ge)", "xiaodiao": "pikkulaulu (xiaodiao)",
           "narrative": "kertova laulu", "humorous": "pilalaulu"},
    "da": {"love": "en kærlighedssang", "lullaby": "en vuggevise", "children": "en børnesang", "ballad": "en ballade",
           "romance": "en romance", "dance": "en dansevise", "religious": "en religiøs sang", "soldier": "en soldatersang",
           "work": "en arbejdssang", "mountain": "en bjergsang (shan'ge)", "xiaodiao": "en lille vise (xiaodiao)",
           "narrative": "en fortællende vise", "humorous": "en skæmtevise"},
    "hu": {"love": "szerelmes dal", "lullaby": "altatódal", "children": "gyermekdal", "ballad": "ballada",
           "romance": "románc", "dance": "táncdal", "religious": "egyházi ének", "soldier": "katonadal",
           "work": "munkadal", "mountain": "hegyi dal (shan'ge)", "xiaodiao": "kis dal (xiaodiao)",
           "narrative": "elbeszélő dal", "humorous": "tréfás dal"},
    "ro": {"love": "un cântec de dragoste", "lullaby": "un cântec de leagăn", "children": "un cântec pentru copii",
           "ballad": "o baladă", "romance": "o romanță", "dance": "un cântec de joc", "religious": "un cântec religios",
           "soldier": "un cântec ostășesc", "work": "un cântec de muncă", "mountain": "un cântec de munte (shan'ge)",
           "xiaodiao": "un cântecel (xiaodiao)", "narrative": "un cântec narativ", "humorous": "un cântec hazliu"},
    "ca": {"love": "una cançó d'amor", "lullaby": "una cançó de bressol", "children": "una cançó infantil",
           "ballad": "una balada", "romance": "una romança", "dance": "una cançó de ball", "religious": "un cant religiós",
           "soldier": "una cançó de soldats", "work": "un cant de treball", "mountain": "un cant de muntanya (shan'ge)",
           "xiaodiao": "una cançoneta (xiaodiao)", "narrative": "una cançó narrativa", "humorous": "una cançó humorística"},
    "he": {"love": "שיר אהבה", "lullaby": "שיר ערש", "children": "שיר ילדים", "ballad": "בלדה", "romance": "רומנסה",
           "dance": "שיר ריקוד", "religious": "שיר דתי", "soldier": "שיר חיילים", "work": "שיר עבודה",
           "mountain": "שיר הרים (שאן-גה)", "xiaodiao": "שיר קטן (שיאודיאו)", "narrative": "שיר עלילתי",
           "humorous": "שיר היתולי"},
    "th": {"love": "เพลงรัก", "lullaby": "เพลงกล่อมเด็ก", "children": "เพลงเด็ก", "ballad": "เพลงบัลลาด", "romance": "เพลงโรมานซ์",
           "dance": "เพลงเต้นรำ", "religious": "เพลงศาสนา", "soldier": "เพลงทหาร", "work": "เพลงประกอบการทำงาน",
           "mountain": "เพลงภูเขา (ซานเกอ)", "xiaodiao": "เพลงสั้น (เสี่ยวเตี้ยว)", "narrative": "เพลงเล่าเรื่อง",
           "humorous": "เพลงตลก"},
    "fa": {"love": "ترانهٔ عاشقانه", "lullaby": "لالایی", "children": "ترانهٔ کودکانه", "ballad": "بالاد", "romance": "رمانس",
           "dance": "ترانهٔ رقص", "religious": "سرود مذهبی", "soldier": "سرود سربازی", "work": "ترانهٔ کار",
           "mountain": "آواز کوهستانی (شان‌گه)", "xiaodiao": "ترانهٔ کوتاه (شیائودیائو)", "narrative": "ترانهٔ روایی",
           "humorous": "ترانهٔ طنز"},
    "bn": {"love": "প্রেমের গান", "lullaby": "ঘুমপাড়ানি গান", "children": "শিশুদের গান", "ballad": "ব্যালাড",
           "romance": "রোমান্স", "dance": "নাচের গান", "religious": "ধর্মীয় গান", "soldier": "সৈনিকদের গান",
           "work": "কাজের গান", "mountain": "পাহাড়ি গান (শান-গে)", "xiaodiao": "ছোট গান (শিয়াওদিয়াও)",
           "narrative": "কাহিনিমূলক গান", "humorous": "হাসির গান"},
    "nb": {"love": "en kjærlighetssang", "lullaby": "en vuggevise", "children": "en barnesang", "ballad": "en ballade",
           "romance": "en romanse", "dance": "en dansevise", "religious": "en religiøs sang", "soldier": "en soldatsang",
           "work": "en arbeidssang", "mountain": "en fjellsang (shan'ge)", "xiaodiao": "en liten vise (xiaodiao)",
           "narrative": "en fortellende vise", "humorous": "en skjemtevise"},
    "hr": {"love": "ljubavna pjesma", "lullaby": "uspavanka", "children": "dječja pjesma", "ballad": "balada",
           "romance": "romansa", "dance": "plesna pjesma", "religious": "duhovna pjesma", "soldier": "vojnička pjesma",
           "work": "radna pjesma", "mountain": "planinska pjesma (shan'ge)", "xiaodiao": "pjesmica (xiaodiao)",
           "narrative": "pripovjedna pjesma", "humorous": "šaljiva pjesma"},
    "bg": {"love": "любовна песен", "lullaby": "приспивна песен", "children": "детска песен", "ballad": "балада",
           "romance": "романс", "dance": "танцова песен", "religious": "духовна песен", "soldier": "войнишка песен",
           "work": "трудова песен", "mountain": "планинска песен (шанге)", "xiaodiao": "песничка (сяодяо)",
           "narrative": "повествователна песен", "humorous": "шеговита песен"},
    "sk": {"love": "ľúbostná pieseň", "lullaby": "uspávanka", "children": "detská pieseň", "ballad": "balada",
           "romance": "romanca", "dance": "tanečná pieseň", "religious": "duchovná pieseň", "soldier": "vojenská pieseň",
           "work": "pracovná pieseň", "mountain": "horská pieseň (shan'ge)", "xiaodiao": "pesnička (xiaodiao)",
           "narrative": "epická pieseň", "humorous": "žartovná pieseň"},
    "lt": {"love": "meilės daina", "lullaby": "lopšinė", "children": "vaikų daina", "ballad": "baladė",
           "romance": "romansas", "dance": "šokių daina", "religious": "religinė giesmė", "soldier": "karių daina",
           "work": "darbo daina", "mountain": "kalnų daina (shan'ge)", "xiaodiao": "dainelė (xiaodiao)",
           "narrative": "pasakojamoji daina", "humorous": "humoristinė daina"},
    "sr": {"love": "љубавна песма", "lullaby": "успаванка", "children": "дечја песма", "ballad": "балада",
           "romance": "романса", "dance": "плесна песма", "religious": "духовна песма", "soldier": "војничка песма",
           "work": "радна песма", "mountain": "планинска песма (шанге)", "xiaodiao": "песмица (сјаодјао)",
           "narrative": "приповедна песма", "humorous": "шаљива песма"},
}
# language -> composer -> the name in the form the language's "by" frame takes (genitive in the
# Slavic languages, Finnish and Bengali, with the Turkish genitive suffix; surnames where usual)
_LATIN_NAMES = {"Bach": "Johann Sebastian Bach", "Palestrina": "Giovanni Pierluigi da Palestrina",
                "Monteverdi": "Claudio Monteverdi", "Beethoven": "Ludwig van Beethoven",
                "Mozart": "Wolfgang Amadeus Mozart", "Haydn": "Joseph Haydn", "Josquin": "Josquin des Prez",
                "Schumann": "Robert Schumann"}
# Czech genitives ("a piece by ..."), which Slovak shares but for Palestrina's
_CZECH_NAMES = {"Bach": "Johanna Sebastiana Bacha", "Palestrina": "Giovanniho Pierluigiho da Palestriny",
                "Monteverdi": "Claudia Monteverdiho", "Beethoven": "Ludwiga van Beethovena",
                "Mozart": "Wolfganga Amadea Mozarta", "Haydn": "Josepha Haydna", "Josquin": "Josquina des Prez",
                "Schumann": "Roberta Schumanna"}
COMPOSERS = {
    "en": _LATIN_NAMES, "de": _LATIN_NAMES, "fr": _LATIN_NAMES, "es": _LATIN_NAMES, "it": _LATIN_NAMES,
    "zh": {"Bach": "巴赫", "Palestrina": "帕莱斯特里纳", "Monteverdi": "蒙特威尔第", "Beethoven": "贝多芬", "Mozart": "莫扎特",
           "Haydn": "海顿", "Josquin": "若斯坎", "Schumann": "舒曼"},
    "ja": {"Bach": "バッハ", "Palestrina": "パレストリーナ", "Monteverdi": "モンテヴェルディ", "Beethoven": "ベートーヴェン",
           "Mozart": "モーツァルト", "Haydn": "ハイドン", "Josquin": "ジョスカン", "Schumann": "シューマン"},
    "ru": {"Bach": "Баха", "Palestrina": "Палестрины", "Monteverdi": "Монтеверди", "Beethoven": "Бетховена",
           "Mozart": "Моцарта", "Haydn": "Гайдна", "Josquin": "Жоскена", "Schumann": "Шумана"},
    "pt": _LATIN_NAMES, "nl": _LATIN_NAMES,
    "pl": {"Bach": "Jana Sebastiana Bacha", "Palestrina": "Giovanniego Pierluigiego da Palestriny",
           "Monteverdi": "Claudia Monteverdiego", "Beethoven": "Ludwiga van Beethovena",
           "Mozart": "Wolfganga Amadeusza Mozarta", "Haydn": "Josepha Haydna", "Josquin": "Josquina des Prez",
           "Schumann": "Roberta Schumanna"},
    "cs": _CZECH_NAMES,
    "uk": {"Bach": "Баха", "Palestrina": "Палестрини", "Monteverdi": "Монтеверді", "Beethoven": "Бетховена",
           "Mozart": "Моцарта", "Haydn": "Гайдна", "Josquin": "Жоскена", "Schumann": "Шумана"},
    "el": {"Bach": "Μπαχ", "Palestrina": "Παλεστρίνα", "Monteverdi": "Μοντεβέρντι", "Beethoven": "Μπετόβεν",
           "Mozart": "Μότσαρτ", "Haydn": "Χάυντν", "Josquin": "Ζοσκέν ντε Πρε", "Schumann": "Σούμαν"},
    "tr": {"Bach": "Johann Sebastian Bach'ın", "Palestrina": "Giovanni Pierluigi da Palestrina'nın",
           "Monteverdi": "Claudio Monteverdi'nin", "Beethoven": "Ludwig van Beethoven'ın",
           "Mozart": "Wolfgang Amadeus Mozart'ın", "Haydn": "Joseph Haydn'ın", "Josquin": "Josquin des Prez'nin",
           "Schumann": "Robert Schumann'ın"},
    "ar": {"Bach": "يوهان سيباستيان باخ", "Palestrina": "جوفاني بييرلويجي دا باليسترينا", "Monteverdi": "كلاوديو مونتيفيردي",
           "Beethoven": "لودفيغ فان بيتهوفن", "Mozart": "فولفغانغ أماديوس موتسارت", "Haydn": "جوزيف هايدن",
           "Josquin": "جوسكان دي بري", "Schumann": "روبرت شومان"},
    "hi": {"Bach": "योहान सेबास्टियन बाख़", "Palestrina": "जोवान्नी पियरलुइजी दा पालेस्त्रीना", "Monteverdi": "क्लाउदियो मोंतेवेर्दी",
           "Beethoven": "लुडविग वान बीथोवन", "Mozart": "वोल्फ़गैंग अमादेउस मोज़ार्ट", "Haydn": "योज़ेफ़ हाइडन",
           "Josquin": "जोस्केन दे प्रे", "Schumann": "रॉबर्ट शूमान"},
    "ko": {"Bach": "바흐", "Palestrina": "팔레스트리나", "Monteverdi": "몬테베르디", "Beethoven": "베토벤", "Mozart": "모차르트",
           "Haydn": "하이든", "Josquin": "조스캥 데 프레", "Schumann": "슈만"},
    "vi": _LATIN_NAMES, "id": _LATIN_NAMES, "sv": _LATIN_NAMES,
    "fi": {"Bach": "Johann Sebastian Bachin", "Palestrina": "Giovanni Pierluigi da Palestrinan",
           "Monteverdi": "Claudio Monteverdin", "Beethoven": "Ludwig van Beethovenin", "Mozart": "Wolfgang Amadeus Mozartin",
           "Haydn": "Joseph Haydnin", "Josquin": "Josquin des Prez'n", "Schumann": "Robert Schumannin"},
    "da": _LATIN_NAMES, "hu": _LATIN_NAMES, "ro": _LATIN_NAMES, "ca": _LATIN_NAMES,
    "he": {"Bach": "יוהאן סבסטיאן באך", "Palestrina": "ג'ובאני פיירלואיג'י דה פלסטרינה", "Monteverdi": "קלאודיו מונטוורדי",
           "Beethoven": "לודוויג ואן בטהובן", "Mozart": "וולפגנג אמדאוס מוצרט", "Haydn": "יוזף היידן",
           "Josquin": "ז'וסקן דה פרה", "Schumann": "רוברט שומאן"},
    "th": {"Bach": "บาค", "Palestrina": "ปาเลสตรีนา", "Monteverdi": "มอนเตแวร์ดี", "Beethoven": "เบทโฮเฟิน", "Mozart": "โมซาร์ท",
           "Haydn": "ไฮเดิน", "Josquin": "ฌอสแก็ง เดเพร", "Schumann": "ชูมัน"},
    "fa": {"Bach": "یوهان سباستیان باخ", "Palestrina": "جووانی پیرلوئیجی دا پالسترینا", "Monteverdi": "کلودیو مونته‌وردی",
           "Beethoven": "لودویگ فان بتهوون", "Mozart": "ولفگانگ آمادئوس موتسارت", "Haydn": "یوزف هایدن",
           "Josquin": "ژوسکن دپره", "Schumann": "روبرت شومان"},
    "bn": {"Bach": "বাখের", "Palestrina": "পালেস্ত্রিনার", "Monteverdi": "মোন্তেভের্দির", "Beethoven": "বেটোভেনের",
           "Mozart": "মোৎসার্টের", "Haydn": "হাইডনের", "Josquin": "জোস্কাঁর", "Schumann": "শুমানের"},
    "nb": _LATIN_NAMES,
    "hr": {"Bach": "Bacha", "Palestrina": "Palestrine", "Monteverdi": "Monteverdija", "Beethoven": "Beethovena",
           "Mozart": "Mozarta", "Haydn": "Haydna", "Josquin": "Josquina des Preza", "Schumann": "Schumanna"},
    "bg": {"Bach": "Бах", "Palestrina": "Палестрина", "Monteverdi": "Монтеверди", "Beethoven": "Бетовен", "Mozart": "Моцарт",
           "Haydn": "Хайдн", "Josquin": "Жоскен де Пре", "Schumann": "Шуман"},
    "sk": {**_CZECH_NAMES, "Palestrina": "Giovanniho Pierluigiho da Palestrinu"},  # masculine -a nouns take -u in Slovak
    "lt": {"Bach": "Johano Sebastiano Bacho", "Palestrina": "Džovanio Pjerluidžio da Palestrinos",
           "Monteverdi": "Klaudijo Monteverdžio", "Beethoven": "Liudviko van Bethoveno",
           "Mozart": "Volfgango Amadėjaus Mocarto", "Haydn": "Jozefo Haidno", "Josquin": "Žoskeno de Pre",
           "Schumann": "Roberto Šumano"},
    "sr": {"Bach": "Баха", "Palestrina": "Палестрине", "Monteverdi": "Монтевердија", "Beethoven": "Бетовена",
           "Mozart": "Моцарта", "Haydn": "Хајдна", "Josquin": "Жоскена де Преа", "Schumann": "Шумана"},
}
# language -> era -> the phrase that follows "music" in the language's era frame and stands alone
ERAS = {
    "en": {"Medieval": "from the Middle Ages", "Renaissance": "from the Renaissance", "Baroque": "from the Baroque era",
           "Classical": "from the Classical era", "Romantic": "from the Romantic era"},
    "de": {"Medieval": "aus dem Mittelalter", "Renaissance": "aus der Renaissance", "Baroque": "aus dem Barock",
           "Classical": "aus der Klassik", "Romantic": "aus der Romantik"},
    "fr": {"Medieval": "du Moyen Âge", "Renaissance": "de la Renaissance", "Baroque": "de l'époque baroque",
           "Classical": "de l'époque classique", "Romantic": "de l'époque romantique"},
    "es": {"Medieval": "de la Edad Media", "Renaissance": "del Renacimiento", "Baroque": "del Barroco",
           "Classical": "del Clasicismo", "Romantic": "del Romanticismo"},
    "it": {"Medieval": "del Medioevo", "Renaissance": "del Rinascimento", "Baroque": "del Barocco",
           "Classical": "del Classicismo", "Romantic": "del Romanticismo"},
    "zh": {"Medieval": "中世纪", "Renaissance": "文艺复兴时期", "Baroque": "巴洛克时期", "Classical": "古典主义时期",
           "Romantic": "浪漫主义时期"},
    "ja": {"Medieval": "中世", "Renaissance": "ルネサンス時代", "Baroque": "バロック時代", "Classical": "古典派", "Romantic": "ロマン派"},
    "ru": {"Medieval": "Средневековья", "Renaissance": "эпохи Возрождения", "Baroque": "эпохи барокко",
           "Classical": "эпохи классицизма", "Romantic": "эпохи романтизма"},
    "pt": {"Medieval": "da Idade Média", "Renaissance": "do Renascimento", "Baroque": "do período barroco",
           "Classical": "do período clássico", "Romantic": "do período romântico"},
    "nl": {"Medieval": "uit de middeleeuwen", "Renaissance": "uit de renaissance", "Baroque": "uit de barok",
           "Classical": "uit de klassieke periode", "Romantic": "uit de romantiek"},
    "pl": {"Medieval": "ze średniowiecza", "Renaissance": "z okresu renesansu", "Baroque": "z okresu baroku",
           "Classical": "z okresu klasycyzmu", "Romantic": "z okresu romantyzmu"},
    "cs": {"Medieval": "ze středověku", "Renaissance": "z období renesance", "Baroque": "z období baroka",
           "Classical": "z období klasicismu", "Romantic": "z období romantismu"},
    "uk": {"Medieval": "Середньовіччя", "Renaissance": "доби Відродження", "Baroque": "доби бароко",
           "Classical": "доби класицизму", "Romantic": "доби романтизму"},
    "el": {"Medieval": "του Μεσαίωνα", "Renaissance": "της Αναγέννησης", "Baroque": "της εποχής του μπαρόκ",
           "Classical": "της κλασικής περιόδου", "Romantic": "της ρομαντικής περιόδου"},
    "tr": {"Medieval": "Orta Çağ", "Renaissance": "Rönesans", "Baroque": "Barok dönem", "Classical": "Klasik dönem",
           "Romantic": "Romantik dönem"},
    "ar": {"Medieval": "من العصور الوسطى", "Renaissance": "من عصر النهضة", "Baroque": "من العصر الباروكي",
           "Classical": "من العصر الكلاسيكي", "Romantic": "من العصر الرومانسي"},
    "hi": {"Medieval": "मध्ययुग", "Renaissance": "पुनर्जागरण काल", "Baroque": "बरोक काल", "Classical": "क्लासिकल काल",
           "Romantic": "रोमांटिक काल"},
    "ko": {"Medieval": "중세", "Renaissance": "르네상스 시대", "Baroque": "바로크 시대", "Classical": "고전주의 시대",
           "Romantic": "낭만주의 시대"},
    "vi": {"Medieval": "thời Trung Cổ", "Renaissance": "thời Phục Hưng", "Baroque": "thời kỳ Baroque",
           "Classical": "thời kỳ Cổ điển", "Romantic": "thời kỳ Lãng mạn"},
    "id": {"Medieval": "Abad Pertengahan", "Renaissance": "zaman Renaisans", "Baroque": "zaman Barok",
           "Classical": "zaman Klasik", "Romantic": "zaman Romantik"},
    "sv": {"Medieval": "från medeltiden", "Renaissance": "från renässansen", "Baroque": "från barocken",
           "Classical": "från klassicismen", "Romantic": "från romantiken"},
    "fi": {"Medieval": "keskiajalta", "Renaissance": "renessanssin ajalta", "Baroque": "barokin ajalta",
           "Classical": "klassismin ajalta", "Romantic": "romantiikan ajalta"},
    "da": {"Medieval": "fra middelalderen", "Renaissance": "fra renæssancen", "Baroque": "fra barokken",
           "Classical": "fra klassicismen", "Romantic": "fra romantikken"},
    "hu": {"Medieval": "középkori", "Renaissance": "reneszánsz", "Baroque": "barokk", "Classical": "klasszikus",
           "Romantic": "romantikus"},
    "ro": {"Medieval": "din Evul Mediu", "Renaissance": "din Renaștere", "Baroque": "din perioada barocă",
           "Classical": "din perioada clasică", "Romantic": "din perioada romantică"},
    "ca": {"Medieval": "de l'edat mitjana", "Renaissance": "del Renaixement", "Baroque": "del Barroc",
           "Classical": "del Classicisme", "Romantic": "del Romanticisme"},
    "he": {"Medieval": "מימי הביניים", "Renaissance": "מתקופת הרנסנס", "Baroque": "מתקופת הבארוק",
           "Classical": "מהתקופה הקלאסית", "Romantic": "מהתקופה הרומנטית"},
    "th": {"Medieval": "ยุคกลาง", "Renaissance": "ยุคเรอเนสซองส์", "Baroque": "ยุคบาโรก", "Classical": "ยุคคลาสสิก",
           "Romantic": "ยุคโรแมนติก"},
    "fa": {"Medieval": "قرون وسطی", "Renaissance": "دوران رنسانس", "Baroque": "دوران باروک", "Classical": "دوران کلاسیک",
           "Romantic": "دوران رمانتیک"},
    "bn": {"Medieval": "মধ্যযুগের", "Renaissance": "রেনেসাঁ যুগের", "Baroque": "বারোক যুগের", "Classical": "ধ্রুপদী যুগের",
           "Romantic": "রোমান্টিক যুগের"},
    "nb": {"Medieval": "fra middelalderen", "Renaissance": "fra renessansen", "Baroque": "fra barokken",
           "Classical": "fra klassisismen", "Romantic": "fra romantikken"},
    "hr": {"Medieval": "iz srednjeg vijeka", "Renaissance": "iz renesanse", "Baroque": "iz baroka",
           "Classical": "iz klasicizma", "Romantic": "iz romantizma"},
    "bg": {"Medieval": "от Средновековието", "Renaissance": "от Ренесанса", "Baroque": "от епохата на барока",
           "Classical": "от епохата на класицизма", "Romantic": "от епохата на романтизма"},
    "sk": {"Medieval": "zo stredoveku", "Renaissance": "z obdobia renesancie", "Baroque": "z obdobia baroka",
           "Classical": "z obdobia klasicizmu", "Romantic": "z obdobia romantizmu"},
    "lt": {"Medieval": "iš viduramžių", "Renaissance": "iš Renesanso epochos", "Baroque": "iš baroko epochos",
           "Classical": "iš klasicizmo epochos", "Romantic": "iš romantizmo epochos"},
    "sr": {"Medieval": "из средњег века", "Renaissance": "из ренесансе", "Baroque": "из барока",
           "Classical": "из класицизма", "Romantic": "из романтизма"},
}
# language -> frames: folk song from a place / a Chinese province, fiddle tune, piece by and music by
# a composer, music of an era, metre, one voice, title, song function, and the separator of parts
FRAMES = {
    "en": dict(folk="a folk song {place}", folk_prov="a folk song from {prov}, China", fiddle="{type}, a fiddle tune",
               by="a piece by {c}", music_by="music by {c}", era="music {era}", metre="in {m} time",
               mono="a single melody line", title='titled "{t}"', function="a {f}", sep=", "),
    "de": dict(folk="ein Volkslied {place}", folk_prov="ein Volkslied aus {prov}, China", fiddle="{type}, ein Fiedelstück",
               by="ein Stück von {c}", music_by="Musik von {c}", era="Musik {era}", metre="im {m}-Takt",
               mono="einstimmig", title="mit dem Titel „{t}“", function="{f}", sep=", "),
    "fr": dict(folk="une chanson populaire {place}", folk_prov="une chanson populaire du {prov} (Chine)",
               fiddle="{type}, un air de violon", by="une œuvre de {c}", music_by="musique de {c}", era="musique {era}",
               metre="en {m}", mono="une seule ligne mélodique", title="titre : « {t} »", function="{f}", sep=", "),
    "es": dict(folk="una canción popular {place}", folk_prov="una canción popular de {prov} (China)",
               fiddle="{type}, una pieza de violín", by="una obra de {c}", music_by="música de {c}", era="música {era}",
               metre="en compás de {m}", mono="una sola línea melódica", title="con el título «{t}»", function="{f}",
               sep=", "),
    "it": dict(folk="una canzone popolare {place}", folk_prov="una canzone popolare dello {prov} (Cina)",
               fiddle="{type}, un brano per violino", by="un brano di {c}", music_by="musica di {c}", era="musica {era}",
               metre="in {m}", mono="una sola linea melodica", title="dal titolo «{t}»", function="{f}", sep=", "),
    "zh": dict(folk="{place}民歌", folk_prov="中国{prov}民歌", fiddle="{type}（提琴曲）", by="{c}的作品", music_by="{c}创作的音乐",
               era="{era}的音乐", metre="{m}拍", mono="单声部旋律", title="《{t}》", function="{f}", sep="，"),
    "ja": dict(folk="{place}の民謡", folk_prov="中国・{prov}の民謡", fiddle="{type}（フィドル曲）", by="{c}の作品",
               music_by="{c}の音楽", era="{era}の音楽", metre="{m}拍子", mono="単旋律", title="「{t}」", function="{f}",
               sep="、"),
    "ru": dict(folk="народная песня {place}", folk_prov="народная песня из провинции {prov} (Китай)",
               fiddle="{type}, скрипичная пьеса", by="произведение {c}", music_by="музыка {c}", era="музыка {era}",
               metre="размер {m}", mono="одноголосная мелодия", title="под названием «{t}»", function="{f}", sep=", "),
    "pt": dict(folk="uma canção popular {place}", folk_prov="uma canção popular de {prov} (China)",
               fiddle="{type}, uma peça de violino", by="uma obra de {c}", music_by="música de {c}", era="música {era}",
               metre="em compasso {m}", mono="uma única linha melódica", title='com o título "{t}"', function="{f}",
               sep=", "),
    "nl": dict(folk="een volkslied {place}", folk_prov="een volkslied uit {prov}, China", fiddle="{type}, een vioolstuk",
               by="een stuk van {c}", music_by="muziek van {c}", era="muziek {era}", metre="in {m}-maat",
               mono="eenstemmig", title='met de titel "{t}"', function="{f}", sep=", "),
    "pl": dict(folk="pieśń ludowa {place}", folk_prov="pieśń ludowa z prowincji {prov} (Chiny)",
               fiddle="{type}, utwór na skrzypce", by="utwór {c}", music_by="muzyka {c}", era="muzyka {era}",
               metre="w metrum {m}", mono="jednogłosowa melodia", title="pod tytułem „{t}”", function="{f}", sep=", "),
    "cs": dict(folk="lidová píseň {place}", folk_prov="lidová píseň z provincie {prov} (Čína)",
               fiddle="{type}, skladba pro housle", by="skladba {c}", music_by="hudba {c}", era="hudba {era}",
               metre="v taktu {m}", mono="jednohlasá melodie", title="s názvem „{t}“", function="{f}", sep=", "),
    "uk": dict(folk="народна пісня {place}", folk_prov="народна пісня з провінції {prov} (Китай)",
               fiddle="{type}, скрипкова п'єса", by="твір {c}", music_by="музика {c}", era="музика {era}",
               metre="розмір {m}", mono="одноголосна мелодія", title="під назвою «{t}»", function="{f}", sep=", "),
    "el": dict(folk="δημοτικό τραγούδι {place}", folk_prov="δημοτικό τραγούδι από την επαρχία {prov} της Κίνας",
               fiddle="{type}, κομμάτι για βιολί", by="έργο του {c}", music_by="μουσική του {c}", era="μουσική {era}",
               metre="σε μέτρο {m}", mono="μία μόνο μελωδική γραμμή", title="με τίτλο «{t}»", function="{f}", sep=", "),
    "tr": dict(folk="{place} halk şarkısı", folk_prov="Çin'in {prov} eyaletinden bir halk şarkısı",
               fiddle="{type}, bir keman ezgisi", by="{c} bir eseri", music_by="{c} müziği", era="{era} müziği",
               metre="{m} ölçüsünde", mono="tek sesli ezgi", title='"{t}" adlı', function="{f}", sep=", "),
    "ar": dict(folk="أغنية شعبية {place}", folk_prov="أغنية شعبية من مقاطعة {prov} في الصين", fiddle="{type}، قطعة للكمان",
               by="مقطوعة من تأليف {c}", music_by="موسيقى {c}", era="موسيقى {era}", metre="على ميزان {m}",
               mono="لحن أحادي الصوت", title="بعنوان «{t}»", function="{f}", sep="، "),
    "hi": dict(folk="{place} लोकगीत", folk_prov="चीन के {prov} प्रांत का लोकगीत", fiddle="{type}, वायलिन की एक धुन",
               by="{c} की एक रचना", music_by="{c} का संगीत", era="{era} का संगीत", metre="{m} ताल में", mono="एकल धुन",
               title='"{t}" नामक', function="{f}", sep=", "),
    "ko": dict(folk="{place} 민요", folk_prov="중국 {prov} 민요", fiddle="{type} (피들 곡)", by="{c}의 작품",
               music_by="{c}의 음악", era="{era} 음악", metre="{m}박자", mono="단선율", title='제목 "{t}"', function="{f}",
               sep=", "),
    "vi": dict(folk="một bài dân ca {place}", folk_prov="một bài dân ca {prov}, Trung Quốc",
               fiddle="{type}, một bản nhạc cho vĩ cầm", by="một tác phẩm của {c}", music_by="âm nhạc của {c}",
               era="âm nhạc {era}", metre="nhịp {m}", mono="một giai điệu đơn", title='có tựa đề "{t}"', function="{f}",
               sep=", "),
    "id": dict(folk="lagu rakyat {place}", folk_prov="lagu rakyat dari {prov}, Tiongkok", fiddle="{type}, lagu biola",
               by="karya {c}", music_by="musik karya {c}", era="musik {era}", metre="birama {m}", mono="melodi tunggal",
               title='berjudul "{t}"', function="{f}", sep=", "),
    "sv": dict(folk="en folkvisa {place}", folk_prov="en folkvisa från {prov}, Kina", fiddle="{type}, en fiollåt",
               by="ett verk av {c}", music_by="musik av {c}", era="musik {era}", metre="i {m}-takt", mono="enstämmig",
               title="med titeln ”{t}”", function="{f}", sep=", "),
    "fi": dict(folk="{place} kansanlaulu", folk_prov="kiinalainen kansanlaulu, {prov}", fiddle="{type}, viulukappale",
               by="{c} sävellys", music_by="{c} musiikkia", era="musiikkia {era}", metre="tahtilajissa {m}",
               mono="yksiääninen", title="nimeltään ”{t}”", function="{f}", sep=", "),
    "da": dict(folk="en folkevise {place}", folk_prov="en folkevise fra {prov}, Kina", fiddle="{type}, et spillemandsstykke",
               by="et værk af {c}", music_by="musik af {c}", era="musik {era}", metre="i {m}-takt", mono="enstemmig",
               title="med titlen »{t}«", function="{f}", sep=", "),
    "hu": dict(folk="{place} népdal", folk_prov="kínai népdal, {prov} tartomány", fiddle="{type}, hegedűdarab",
               by="{c} műve", music_by="{c} zenéje", era="{era} zene", metre="{m} ütemmutatóval", mono="egyszólamú",
               title="„{t}” címmel", function="{f}", sep=", "),
    "ro": dict(folk="un cântec popular {place}", folk_prov="un cântec popular din provincia {prov}, China",
               fiddle="{type}, o piesă pentru vioară", by="o lucrare de {c}", music_by="muzică de {c}", era="muzică {era}",
               metre="în măsura de {m}", mono="o singură linie melodică", title="cu titlul „{t}”", function="{f}", sep=", "),
    "ca": dict(folk="una cançó popular {place}", folk_prov="una cançó popular de la Xina ({prov})",
               fiddle="{type}, una peça per a violí", by="una obra de {c}", music_by="música de {c}", era="música {era}",
               metre="en compàs de {m}", mono="una sola línia melòdica", title="amb el títol «{t}»", function="{f}",
               sep=", "),
    "he": dict(folk="שיר עם {place}", folk_prov="שיר עם ממחוז {prov} בסין", fiddle="{type}, קטע לכינור",
               by="יצירה של {c}", music_by="מוזיקה של {c}", era="מוזיקה {era}", metre="במשקל {m}", mono="מנגינה חד-קולית",
               title='בשם "{t}"', function="{f}", sep=", "),
    "th": dict(folk="เพลงพื้นบ้าน{place}", folk_prov="เพลงพื้นบ้าน{prov} ประเทศจีน", fiddle="{type} เพลงสำหรับไวโอลิน",
               by="ผลงานของ{c}", music_by="ดนตรีของ{c}", era="ดนตรี{era}", metre="จังหวะ {m}", mono="ทำนองแนวเดียว",
               title='ชื่อเพลง "{t}"', function="{f}", sep=" "),
    "fa": dict(folk="ترانهٔ محلی {place}", folk_prov="ترانهٔ محلی از استان {prov} چین", fiddle="{type}، قطعه‌ای برای ویولن",
               by="اثری از {c}", music_by="موسیقی {c}", era="موسیقی {era}", metre="در میزان {m}", mono="تک‌صدایی",
               title="با عنوان «{t}»", function="{f}", sep="، "),
    "bn": dict(folk="{place} একটি লোকগীতি", folk_prov="চীনের {prov} প্রদেশের একটি লোকগীতি", fiddle="{type}, বেহালার একটি সুর",
               by="{c} একটি রচনা", music_by="{c} সংগীত", era="{era} সংগীত", metre="{m} ছন্দে", mono="একক সুররেখা",
               title='"{t}" শিরোনামে', function="{f}", sep=", "),
    "nb": dict(folk="en folkevise {place}", folk_prov="en folkevise fra {prov}, Kina", fiddle="{type}, en spillemannslåt",
               by="et verk av {c}", music_by="musikk av {c}", era="musikk {era}", metre="i {m}-takt", mono="enstemmig",
               title="med tittelen «{t}»", function="{f}", sep=", "),
    "hr": dict(folk="narodna pjesma {place}", folk_prov="narodna pjesma iz pokrajine {prov} (Kina)",
               fiddle="{type}, melodija za violinu", by="djelo {c}", music_by="glazba {c}", era="glazba {era}",
               metre="u {m} taktu", mono="jednoglasna melodija", title="pod naslovom „{t}”", function="{f}", sep=", "),
    "bg": dict(folk="народна песен {place}", folk_prov="народна песен от провинция {prov} (Китай)",
               fiddle="{type}, мелодия за цигулка", by="произведение на {c}", music_by="музика на {c}", era="музика {era}",
               metre="в размер {m}", mono="едногласна мелодия", title="със заглавие „{t}“", function="{f}", sep=", "),
    "sk": dict(folk="ľudová pieseň {place}", folk_prov="ľudová pieseň z provincie {prov} (Čína)",
               fiddle="{type}, skladba pre husle", by="skladba {c}", music_by="hudba {c}", era="hudba {era}",
               metre="v takte {m}", mono="jednohlasná melódia", title="s názvom „{t}“", function="{f}", sep=", "),
    "lt": dict(folk="liaudies daina {place}", folk_prov="liaudies daina iš {prov} provincijos (Kinija)",
               fiddle="{type}, melodija smuikui", by="{c} kūrinys", music_by="{c} muzika", era="muzika {era}",
               metre="{m} metru", mono="vienbalsė melodija", title="pavadinimu „{t}“", function="{f}", sep=", "),
    "sr": dict(folk="народна песма {place}", folk_prov="народна песма из покрајине {prov} (Кина)",
               fiddle="{type}, мелодија за виолину", by="дело {c}", music_by="музика {c}", era="музика {era}",
               metre="у {m} такту", mono="једногласна мелодија", title="под насловом „{t}”", function="{f}", sep=", "),
}
# language -> ABC mode -> its name; a name holding "{k}" is the whole phrase (the frame is not used)
MODES = {
    "en": {"maj": "major", "min": "minor", "dor": "dorian", "mix": "mixolydian"},
    "de": {"maj": "Dur", "min": "Moll", "dor": "Dorisch", "mix": "Mixolydisch"},
    "fr": {"maj": "majeur", "min": "mineur", "dor": "dorien", "mix": "mixolydien"},
    "es": {"maj": "mayor", "min": "menor", "dor": "dórico", "mix": "mixolidio"},
    "it": {"maj": "maggiore", "min": "minore", "dor": "dorico", "mix": "misolidio"},
    "zh": {"maj": "大调", "min": "小调", "dor": "多利亚调式", "mix": "混合利底亚调式"},
    "ja": {"maj": "長調", "min": "短調", "dor": "ドリア旋法", "mix": "ミクソリディア旋法"},
    "ru": {"maj": "мажор", "min": "минор", "dor": "дорийский", "mix": "миксолидийский"},
    "pt": {"maj": "maior", "min": "menor", "dor": "dórico", "mix": "mixolídio"},
    "nl": {"maj": "groot", "min": "klein", "dor": "dorisch", "mix": "mixolydisch"},
    "pl": {"maj": "dur", "min": "moll", "dor": "{k} dorycka", "mix": "{k} miksolidyjska"},
    "cs": {"maj": "dur", "min": "moll", "dor": "dórská", "mix": "mixolydická"},
    "uk": {"maj": "мажор", "min": "мінор", "dor": "дорійський", "mix": "міксолідійський"},
    "el": {"maj": "μείζονα", "min": "ελάσσονα", "dor": "δώριο", "mix": "μιξολύδιο"},
    "tr": {"maj": "majör", "min": "minör", "dor": "Dor modu", "mix": "Miksolidyen modu"},
    "ar": {"maj": "الكبير", "min": "الصغير", "dor": "الدوري", "mix": "الميكسوليدي"},
    "hi": {"maj": "मेजर", "min": "माइनर", "dor": "डोरियन", "mix": "मिक्सोलिडियन"},
    "ko": {"maj": "장조", "min": "단조", "dor": "{k} 도리아 선법", "mix": "{k} 믹솔리디아 선법"},
    "vi": {"maj": "trưởng", "min": "thứ", "dor": "điệu thức {k} Dorian", "mix": "điệu thức {k} Mixolydian"},
    "id": {"maj": "mayor", "min": "minor", "dor": "dorian", "mix": "mixolydian"},
    "sv": {"maj": "dur", "min": "moll", "dor": "dorisk", "mix": "mixolydisk"},
    "fi": {"maj": "duuri", "min": "molli", "dor": "doorinen", "mix": "miksolyydinen"},
    "da": {"maj": "dur", "min": "mol", "dor": "dorisk", "mix": "mixolydisk"},
    "hu": {"maj": "dúr", "min": "moll", "dor": "dór", "mix": "mixolíd"},
    "ro": {"maj": "major", "min": "minor", "dor": "doric", "mix": "mixolidic"},
    "ca": {"maj": "major", "min": "menor", "dor": "dòric", "mix": "mixolidi"},
    "he": {"maj": "מז'ור", "min": "מינור", "dor": "דורי", "mix": "מיקסולידי"},
    "th": {"maj": "เมเจอร์", "min": "ไมเนอร์", "dor": "โดเรียน", "mix": "มิกโซลิเดียน"},
    "fa": {"maj": "ماژور", "min": "مینور", "dor": "دورین", "mix": "میکسولیدین"},
    "bn": {"maj": "মেজর", "min": "মাইনর", "dor": "ডোরিয়ান", "mix": "মিক্সোলিডিয়ান"},
    "nb": {"maj": "dur", "min": "moll", "dor": "dorisk", "mix": "miksolydisk"},
    "hr": {"maj": "dur", "min": "mol", "dor": "dorski", "mix": "miksolidijski"},
    "bg": {"maj": "мажор", "min": "минор", "dor": "дорийски", "mix": "миксолидийски"},
    "sk": {"maj": "dur", "min": "mol", "dor": "dórska", "mix": "mixolýdická"},
    "lt": {"maj": "mažoras", "min": "minoras", "dor": "{k} dorinė dermė", "mix": "{k} miksolidinė dermė"},
    "sr": {"maj": "дур", "min": "мол", "dor": "дорски", "mix": "миксолидијски"},
}
_LETTERS = "C D E F G A B"
_GERMAN = "C D E F G A H"  # B is H; B-flat is B
_SOLFEGE = "do re mi fa sol la si"
_GERMAN_FLATS = {"B": "B", "E": "Es", "A": "As"}
# language -> how a key is named: note names C..B, sharp and flat of a note {n}, the frame of key {k}
# and mode {m}; "flats" names flat notes that the rule does not ("Es", not "Ees"); "lower_minor": a
# minor key's name is lower case (German tradition: "d-Moll", "D-Dur")
KEYS = {
    "en": dict(notes=_LETTERS, sharp="{n}-sharp", flat="{n}-flat", frame="in {k} {m}"),
    "de": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True, frame="in {k}-{m}"),
    "fr": dict(notes="do ré mi fa sol la si", sharp="{n} dièse", flat="{n} bémol", frame="en {k} {m}"),
    "es": dict(notes=_SOLFEGE, sharp="{n} sostenido", flat="{n} bemol", frame="en {k} {m}"),
    "it": dict(notes=_SOLFEGE, sharp="{n} diesis", flat="{n} bemolle", frame="in {k} {m}"),
    "zh": dict(notes=_LETTERS, sharp="升{n}", flat="降{n}", frame="{k}{m}"),
    "ja": dict(notes="ハ ニ ホ ヘ ト イ ロ", sharp="嬰{n}", flat="変{n}", frame="{k}{m}"),
    "ru": dict(notes="до ре ми фа соль ля си", sharp="{n}-диез", flat="{n}-бемоль", frame="{k} {m}"),
    "pt": dict(notes="dó ré mi fá sol lá si", sharp="{n} sustenido", flat="{n} bemol", frame="em {k} {m}"),
    "nl": dict(notes=_LETTERS, sharp="{n}is", flat="{n}es", flats={"E": "Es", "A": "As"}, lower_minor=True,
               frame="in {k} {m}"),
    "pl": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True, frame="{k}-{m}"),
    "cs": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True, frame="{k} {m}"),
    "uk": dict(notes="до ре мі фа соль ля сі", sharp="{n}-дієз", flat="{n}-бемоль", frame="{k} {m}"),
    "el": dict(notes="ντο ρε μι φα σολ λα σι", sharp="{n} δίεση", flat="{n} ύφεση", frame="σε {k} {m}"),
    "tr": dict(notes=_SOLFEGE, sharp="{n} diyez", flat="{n} bemol", frame="{k} {m}"),
    "ar": dict(notes="دو ري مي فا صول لا سي", sharp="{n} دييز", flat="{n} بيمول", frame="{k} {m}"),
    "hi": dict(notes="सी डी ई एफ़ जी ए बी", sharp="{n} शार्प", flat="{n} फ़्लैट", frame="{k} {m} स्केल में"),
    "ko": dict(notes=_LETTERS, sharp="{n}♯", flat="{n}♭", frame="{k}{m}"),
    "vi": dict(notes="Đô Rê Mi Fa Sol La Si", sharp="{n} thăng", flat="{n} giáng", frame="giọng {k} {m}"),
    "id": dict(notes=_LETTERS, sharp="{n}is", flat="{n}es", flats={"E": "Es", "A": "As"}, frame="tangga nada {k} {m}"),
    "sv": dict(notes=_GERMAN, sharp="{n}iss", flat="{n}ess", flats={"B": "B", "E": "Ess", "A": "Ass"}, lower_minor=True,
               frame="i {k}-{m}"),
    "fi": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True,
               frame="sävellaji {k}-{m}"),
    "da": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True, frame="i {k}-{m}"),
    "hu": dict(notes=_GERMAN, sharp="{n}isz", flat="{n}esz", flats={"B": "B", "E": "Esz", "A": "Asz"}, lower_minor=True,
               frame="{k}-{m}"),
    "ro": dict(notes=_SOLFEGE, sharp="{n} diez", flat="{n} bemol", frame="în {k} {m}"),
    "ca": dict(notes=_SOLFEGE, sharp="{n} sostingut", flat="{n} bemoll", frame="en {k} {m}"),
    "he": dict(notes="דו רה מי פה סול לה סי", sharp="{n} דיאז", flat="{n} במול", frame="בסולם {k} {m}"),
    "th": dict(notes="ซี ดี อี เอฟ จี เอ บี", sharp="{n}ชาร์ป", flat="{n}แฟลต", frame="คีย์{k}{m}"),
    "fa": dict(notes="دو ر می فا سل لا سی", sharp="{n} دیز", flat="{n} بمل", frame="در گام {k} {m}"),
    "bn": dict(notes="সি ডি ই এফ জি এ বি", sharp="{n} শার্প", flat="{n} ফ্ল্যাট", frame="{k} {m} স্কেলে"),
    "nb": dict(notes=_GERMAN, sharp="{n}iss", flat="{n}ess", flats={"B": "B", "E": "Ess", "A": "Ass"}, lower_minor=True,
               frame="i {k}-{m}"),
    "hr": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True, frame="{k}-{m}"),
    "bg": dict(notes="до ре ми фа сол ла си", sharp="{n} диез", flat="{n} бемол", frame="{k} {m}"),
    "sk": dict(notes=_GERMAN, sharp="{n}is", flat="{n}es", flats=_GERMAN_FLATS, lower_minor=True, frame="{k} {m}"),
    "lt": dict(notes=_SOLFEGE, sharp="{n} diezas", flat="{n} bemolis", frame="{k} {m}"),
    "sr": dict(notes="Ц Д Е Ф Г А Х", sharp="{n}ис", flat="{n}ес", flats={"B": "Б", "E": "Ес", "A": "Ас"}, lower_minor=True,
               frame="{k}-{m}"),
}


def parse_key(key: str) -> tuple[str, str, str] | None:
    """ABC ``K:`` value -> (letter, accidental '#', 'b' or '', mode) or None when it is not a key."""
    key = key.strip().split(" ")[0]
    if not key or key[0].upper() not in "ABCDEFG":
        return None
    letter, rest = key[0].upper(), key[1:]
    accidental = rest[0] if rest[:1] in ("#", "b") else ""
    mode = rest[len(accidental):].lower()[:3]
    mode = {"": "maj", "m": "min", "mi": "min", "ion": "maj", "aeo": "min"}.get(mode, mode)
    return (letter, accidental, mode) if mode in MODES["en"] else None


def key_name(key: str, lang: str) -> str | None:
    """The key as the language names it ("in F-sharp minor", "fis-moll", "嬰ヘ短調"), or None."""
    parsed = parse_key(key)
    if parsed is None:
        return None
    letter, accidental, mode = parsed
    spec = KEYS[lang]
    note = dict(zip("CDEFGAB", spec["notes"].split()))[letter]
    if accidental == "b" and letter in spec.get("flats", {}):
        name = spec["flats"][letter]
    else:
        name = {"#": spec["sharp"], "b": spec["flat"], "": "{n}"}[accidental].format(n=note)
    if mode == "min" and spec.get("lower_minor"):
        name = name.lower()
    mode_name = MODES[lang][mode]
    return mode_name.format(k=name) if "{k}" in mode_name else spec["frame"].format(k=name, m=mode_name)


# --- counted things: the plural category a number takes in each language ----------------------
def _one_other(n: int) -> str:
    return "one" if n == 1 else "other"


def _east_slavic(n: int) -> str:  # ru, uk, hr, sr: 1, 21 такт; 2-4, 22 такта; 5-20, 25 тактов
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    return "few" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "other"


def _polish(n: int) -> str:  # 1 takt; 2-4, 22 takty; 5-21, 25 taktów
    if n == 1:
        return "one"
    return "few" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "other"


def _czech(n: int) -> str:  # 1 takt; 2-4 takty; 5 and more taktů
    return "one" if n == 1 else "few" if n in (2, 3, 4) else "other"


def _lithuanian(n: int) -> str:  # 1, 21 taktas; 2-9, 22 taktai; 10-20, 30 taktų
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    return "few" if n % 10 >= 2 and not 12 <= n % 100 <= 19 else "other"


def _arabic(n: int) -> str:  # singular, dual, plural for 3-10, accusative singular for 11-99
    if n in (1, 2):
        return {1: "one", 2: "two"}[n]
    return "few" if 3 <= n % 100 <= 10 else "many" if 11 <= n % 100 <= 99 else "other"


def _romanian(n: int) -> str:  # 20 and more take "de": 19 măsuri, 20 de măsuri (but 101 măsuri)
    return "one" if n == 1 else "few" if n == 0 or 1 <= n % 100 <= 19 else "other"


PLURAL_RULES = {
    "en": _one_other, "de": _one_other, "fr": _one_other, "es": _one_other, "it": _one_other, "zh": _one_other,
    "ja": _one_other, "ru": _east_slavic, "pt": _one_other, "nl": _one_other, "pl": _polish, "cs": _czech,
    "uk": _east_slavic, "el": _one_other, "tr": _one_other, "ar": _arabic, "hi": _one_other, "ko": _one_other,
    "vi": _one_other, "id": _one_other, "sv": _one_other, "fi": _one_other, "da": _one_other, "hu": _one_other,
    "ro": _romanian, "ca": _one_other, "he": _one_other, "th": _one_other, "fa": _one_other, "bn": _one_other,
    "nb": _one_other, "hr": _east_slavic, "bg": _one_other, "sk": _czech, "lt": _lithuanian, "sr": _east_slavic,
}
# language -> plural category -> the phrase ("other" serves every category a language leaves out;
# Turkish, Hungarian, Persian and the East Asian languages keep the noun singular after a number)
BARS = {
    "en": {"one": "1 bar", "other": "{n} bars"}, "de": {"one": "1 Takt", "other": "{n} Takte"},
    "fr": {"one": "1 mesure", "other": "{n} mesures"}, "es": {"one": "1 compás", "other": "{n} compases"},
    "it": {"one": "1 battuta", "other": "{n} battute"}, "zh": {"other": "{n}小节"}, "ja": {"other": "{n}小節"},
    "ru": {"one": "{n} такт", "few": "{n} такта", "other": "{n} тактов"},
    "pt": {"one": "1 compasso", "other": "{n} compassos"}, "nl": {"one": "1 maat", "other": "{n} maten"},
    "pl": {"one": "1 takt", "few": "{n} takty", "other": "{n} taktów"},
    "cs": {"one": "1 takt", "few": "{n} takty", "other": "{n} taktů"},
    "uk": {"one": "{n} такт", "few": "{n} такти", "other": "{n} тактів"},
    "el": {"one": "1 μέτρο", "other": "{n} μέτρα"}, "tr": {"other": "{n} ölçü"},
    "ar": {"one": "مازورة واحدة", "two": "مازورتان", "few": "{n} مازورات", "other": "{n} مازورة"},
    "hi": {"other": "{n} बार"}, "ko": {"other": "{n}마디"}, "vi": {"other": "{n} ô nhịp"}, "id": {"other": "{n} birama"},
    "sv": {"one": "1 takt", "other": "{n} takter"}, "fi": {"one": "1 tahti", "other": "{n} tahtia"},
    "da": {"one": "1 takt", "other": "{n} takter"}, "hu": {"other": "{n} ütem"},
    "ro": {"one": "1 măsură", "few": "{n} măsuri", "other": "{n} de măsuri"},
    "ca": {"one": "1 compàs", "other": "{n} compassos"}, "he": {"one": "תיבה אחת", "other": "{n} תיבות"},
    "th": {"other": "{n} ห้อง"}, "fa": {"other": "{n} میزان"}, "bn": {"other": "{n}টি বার"},
    "nb": {"one": "1 takt", "other": "{n} takter"}, "hr": {"one": "{n} takt", "few": "{n} takta", "other": "{n} taktova"},
    "bg": {"one": "1 такт", "other": "{n} такта"},
    "sk": {"one": "1 takt", "few": "{n} takty", "other": "{n} taktov"},
    "lt": {"one": "{n} taktas", "few": "{n} taktai", "other": "{n} taktų"},
    "sr": {"one": "{n} такт", "few": "{n} такта", "other": "{n} тактова"},
}
# language -> plural category -> "for n voices" (n >= 2; one voice is FRAMES' "mono")
VOICES = {
    "en": {"other": "for {n} voices"}, "de": {"other": "für {n} Stimmen"}, "fr": {"other": "à {n} voix"},
    "es": {"other": "a {n} voces"}, "it": {"other": "a {n} voci"}, "zh": {"other": "{n}声部"}, "ja": {"other": "{n}声部"},
    "ru": {"other": "для {n} голосов"}, "pt": {"other": "para {n} vozes"}, "nl": {"other": "voor {n} stemmen"},
    "pl": {"few": "na {n} głosy", "other": "na {n} głosów"}, "cs": {"few": "pro {n} hlasy", "other": "pro {n} hlasů"},
    "uk": {"one": "для {n} голосу", "other": "для {n} голосів"}, "el": {"other": "για {n} φωνές"},
    "tr": {"other": "{n} ses için"},
    "ar": {"two": "لصوتين", "few": "لـ{n} أصوات", "many": "لـ{n} صوتًا", "other": "لـ{n} صوت"},
    "hi": {"other": "{n} आवाज़ों के लिए"}, "ko": {"other": "{n}성부"}, "vi": {"other": "cho {n} bè"},
    "id": {"other": "untuk {n} suara"}, "sv": {"other": "för {n} stämmor"}, "fi": {"other": "{n} äänelle"},
    "da": {"other": "for {n} stemmer"}, "hu": {"other": "{n} szólamra"},
    "ro": {"few": "pentru {n} voci", "other": "pentru {n} de voci"}, "ca": {"other": "a {n} veus"},
    "he": {"other": "ל-{n} קולות"}, "th": {"other": "สำหรับ {n} แนวเสียง"}, "fa": {"other": "برای {n} صدا"},
    "bn": {"other": "{n}টি কণ্ঠের জন্য"},
    "nb": {"other": "for {n} stemmer"}, "hr": {"few": "za {n} glasa", "other": "za {n} glasova"},
    "bg": {"other": "за {n} гласа"},
    "sk": {"few": "pre {n} hlasy", "other": "pre {n} hlasov"}, "lt": {"other": "{n} balsams"},
    "sr": {"few": "за {n} гласа", "other": "за {n} гласова"},
}


def counted(forms: dict[str, str], n: int, lang: str) -> str:
    """``n`` with the form of a phrase its plural category takes in ``lang`` (``forms``: category ->
    phrase with ``{n}``; "other" serves every category left out)."""
    return forms.get(PLURAL_RULES[lang](n), forms["other"]).format(n=n)


def bars_phrase(n: int, lang: str) -> str:
    """The length of a piece in bars, with the plural each language takes after a number."""
    return counted(BARS[lang], n, lang)


def voices_phrase(n: int, lang: str) -> str:
    """"For n voices" (n >= 2), with the plural each language takes after a number."""
    return counted(VOICES[lang], n, lang)


def _place(work: dict, lang: str) -> str | None:
    frames = FRAMES[lang]
    province = work.get("province")
    if work.get("region") == "China" and province in PROVINCES[lang]:
        return frames["folk_prov"].format(prov=PROVINCES[lang][province])
    country = work.get("country")
    if country in PLACES[lang]:
        return frames["folk"].format(place=PLACES[lang][country])
    return None


def core(work: dict, lang: str) -> str | None:
    """The short description: what kind of music, with its class (region, tune type, composer)."""
    frames = FRAMES[lang]
    if work.get("kind") == "folk":
        return _place(work, lang)
    if work.get("kind") == "fiddle" and work.get("tune_type") in TUNE_TYPES[lang]:
        return frames["fiddle"].format(type=TUNE_TYPES[lang][work["tune_type"]])
    if work.get("composer") in COMPOSERS[lang]:
        return frames["by"].format(c=COMPOSERS[lang][work["composer"]])
    if work.get("era") in ERAS[lang]:
        return frames["era"].format(era=ERAS[lang][work["era"]])
    return None


def facts(work: dict, lang: str, title: bool = True) -> list[tuple[str, str]]:
    """The optional parts as (what, phrase): title, song function, era, metre, key, voices, length in bars."""
    frames = FRAMES[lang]
    parts = []
    if title and work.get("title"):
        parts.append(("title", frames["title"].format(t=work["title"])))
    if work.get("function") in FUNCTIONS[lang]:
        parts.append(("function", frames["function"].format(f=FUNCTIONS[lang][work["function"]])))
    if work.get("era") in ERAS[lang] and work.get("composer"):
        parts.append(("era", ERAS[lang][work["era"]]))
    if work.get("metre"):
        parts.append(("metre", frames["metre"].format(m=work["metre"])))
    if work.get("key") and (name := key_name(work["key"], lang)):
        parts.append(("key", name))
    if work.get("voices"):
        parts.append(("voices", frames["mono"] if work["voices"] == 1 else voices_phrase(work["voices"], lang)))
    if work.get("bars"):
        parts.append(("bars", bars_phrase(work["bars"], lang)))
    return parts


def details(work: dict, lang: str, title: bool = True, leave_out: frozenset[str] = frozenset()) -> list[str]:
    """Optional parts: title, song function, era, metre, key, voices, length in bars; but those
    named in ``leave_out`` (the ``what`` of ``facts``)."""
    return [phrase for what, phrase in facts(work, lang, title) if what not in leave_out]


def describe(work: dict, lang: str, rng: random.Random | None = None, title: bool = True,
             leave_out: frozenset[str] = frozenset()) -> str | None:
    """A description; with ``rng`` a random subset and order of the details, else all of them but
    those named in ``leave_out`` (the ``what`` of ``facts``: "key", "metre", "bars", ...)."""
    head = core(work, lang)
    if head is None:
        return None
    parts = details(work, lang, title, leave_out)
    if rng is not None:
        parts = [p for p in parts if rng.random() < 0.5]
        rng.shuffle(parts)
    return FRAMES[lang]["sep"].join([head, *parts])


# What the ABC itself spells out (its K: and M: lines, its bar lines): named in few training texts, so
# that matching these words to those tokens is not the shortest way for the model to pair texts with
# music (the first edition's space was ordered by key and metre: 10-nearest-neighbour agreement 0.96
# for each, 0.67 for region). Each is kept in a random description with this probability, where
# the other facts and the music's own features (``demo.musicwords``) are kept with 0.5. 0.15 until
# the last release of 2026-12-06: held-out descriptions in other languages gained from these facts
# about half of what English's did (``benchmarks/description_facets.py``); with twice the share every
# language found its scores more often (demo/README.md).
SPELLED_OUT = frozenset({"key", "metre", "bars"})
SPELLED_OUT_SHARE = 0.3


def portrait(work: dict, lang: str) -> str | None:
    """Everything the music shows but what its ABC spells out: the class, the song function, era
    and voices, and what the notes do (mode, range, motion, rhythm, texture, upbeat: ``work["music"]``)."""
    head = core(work, lang)
    if head is None:
        return None
    parts = details(work, lang, title=False, leave_out=SPELLED_OUT)
    return FRAMES[lang]["sep"].join([head, *parts, *music_phrases(work.get("music") or {}, lang)])


def sampled(work: dict, lang: str, rng: random.Random) -> str | None:
    """A random subset of every fact (title included) and music feature, in random order; what the
    ABC spells out is kept with ``SPELLED_OUT_SHARE``."""
    head = core(work, lang)
    if head is None:
        return None
    parts = [phrase for what, phrase in facts(work, lang) if rng.random() < (SPELLED_OUT_SHARE if what in SPELLED_OUT else 0.5)]
    parts += [phrase for phrase in music_phrases(work.get("music") or {}, lang) if rng.random() < 0.5]
    rng.shuffle(parts)
    return FRAMES[lang]["sep"].join([head, *parts])


def on_their_own(work: dict, lang: str) -> list[str]:
    """The era and the song function, each worded alone as a query names them ("music from the
    Renaissance", "a lullaby"). Elsewhere they follow the class (a composer's era comes after "a
    piece by Palestrina"), so "music from the ..." was learnt only for the one era without composers
    (the trecento) and a query for the Renaissance found medieval pieces."""
    frames = FRAMES[lang]
    texts = []
    if work.get("era") in ERAS[lang] and core(work, lang) != (era := frames["era"].format(era=ERAS[lang][work["era"]])):
        texts.append(era)
    if work.get("function") in FUNCTIONS[lang]:
        texts.append(frames["function"].format(f=FUNCTIONS[lang][work["function"]]))
    return texts


def descriptions(work: dict, rng: random.Random, per_language: int = 1, languages: list[str] | None = None) -> dict[str, list[str]]:
    """The training texts of a work, per training language (``languages``, by default all of
    ``TRAIN_LANGUAGES``; the held-out ones never reach training): its portrait (``portrait``), the
    short description (its class), its era and song function on their own (``on_their_own``), and
    ``per_language`` random subsets of everything (``sampled``), without repeats. (The held-out
    retrieval query is ``describe(work, lang, title=False)``, in every language.)"""
    out = {}
    for lang in languages or TRAIN_LANGUAGES:
        head = core(work, lang)
        if head is None:
            continue
        texts = [portrait(work, lang), head, *on_their_own(work, lang)] + [sampled(work, lang, rng) for _ in range(per_language)]
        out[lang] = list(dict.fromkeys(texts))
    return out


# --- zero-shot class prompts ----------------------------------------------------------------
REGION_CLASSES = ["Germany", "China", "Lorraine", "Luxembourg", "Poland"]
OTHER_COUNTRIES = ["Austria", "Switzerland", "the Netherlands", "Yugoslavia", "Hungary", "Russia", "Romania", "Czechoslovakia", "Ireland", "Sweden", "Alsace"]
COMPOSER_CLASSES = ["Bach", "Palestrina", "Monteverdi", "Beethoven", "Mozart", "Haydn"]


def task_prompts(task: str, lang: str = "en") -> dict[str, list[str]]:
    """Class name -> prompts (their text vectors are averaged) for a zero-shot task, in any of ``LANGUAGES``."""
    frames = FRAMES[lang]
    if task == "tune_type":
        return {t: [frames["fiddle"].format(type=name), name] for t, name in TUNE_TYPES[lang].items()}
    if task == "region":
        places = PLACES[lang]
        prompts = {r: [frames["folk"].format(place=places[r])] for r in REGION_CLASSES}
        prompts["other"] = [frames["folk"].format(place=places[c]) for c in OTHER_COUNTRIES]
        return prompts
    if task == "composer":
        names = COMPOSERS[lang]
        return {c: [frames["by"].format(c=names[c]), frames["music_by"].format(c=names[c])] for c in COMPOSER_CLASSES}
    if task == "era":
        return {era: [frames["era"].format(era=name)] for era, name in ERAS[lang].items()}
    if task == "function":
        return {f: [frames["function"].format(f=name)] for f, name in FUNCTIONS[lang].items()}
    raise ValueError(f"unknown task '{task}'; expected tune_type, region, composer, era or function")
