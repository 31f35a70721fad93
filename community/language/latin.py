"""Which Latin-script language a short chat message is in: three voters, multiplied.

- `langdetect`, restricted to the Latin candidates and seeded. Good on a sentence, a coin toss on three words.
  It has no Malay profile; its Indonesian profile stands for both (they share most of their words).
- `lingua` (lingua-language-detector), restricted to the same candidates, with Malay. Built for short text;
  it still confuses neighbours on two or three words (Spanish and Portuguese, Indonesian and Malay).
- Hint words and letters: common chat words of each language ("wo", "ist", "tandas", "nggak") and letters
  only some use (ñ, ß, ã). Each hit multiplies its languages' odds by 5.

The product of the three, normalised, is the answer when it clears `CONFIDENCE_THRESHOLD`; below it the
caller keeps the user's previous language, because a wrong switch costs more than a kept language.

Indonesian and Malay share most of their everyday words: "Tolong! Anak saya hilang" is both. Only the
words one of them uses and the other does not (tandas, percuma, tak, nak / nggak, bisa, gratis, dokter)
tell them apart; a message with none of them is read as Indonesian, which about eight times as many
people speak.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from lingua import Language, LanguageDetectorBuilder

# The languages written in Latin script that the voters choose between. Their other profiles only produce
# confusions for short text (Dutch, Tagalog, Somali... for "ok thanks").
LATIN_CANDIDATES: Final = ("en", "fr", "de", "es", "it", "pt", "vi", "id", "ms")
# langdetect has no Malay profile: its Indonesian vote counts for Malay too.
_LANGDETECT_CANDIDATES: Final = tuple(language for language in LATIN_CANDIDATES if language != "ms")
_LINGUA_LANGUAGES: Final = {
    "en": Language.ENGLISH,
    "fr": Language.FRENCH,
    "de": Language.GERMAN,
    "es": Language.SPANISH,
    "it": Language.ITALIAN,
    "pt": Language.PORTUGUESE,
    "vi": Language.VIETNAMESE,
    "id": Language.INDONESIAN,
    "ms": Language.MALAY,
}
_BY_LINGUA: Final = {lingua: code for code, lingua in _LINGUA_LANGUAGES.items()}

# Below this combined probability the user's previous language is kept. On the 342 Latin-script messages of
# two words or more in tests/language/messages.tsv: at 0.5 and 0.6, 340 right, 2 wrong, none kept; at 0.7,
# 337, 2, 3; at 0.8, 334, 1, 7. A wrong switch costs more than a kept language (the user is answered in a
# language they cannot read), but a kept one is still wrong for a new user: 0.6 is the knee.
CONFIDENCE_THRESHOLD: Final = 0.6

# Odds multiplier of one hint; hints beyond _MAX_HINTS add nothing (by then the language is clear).
_HINT_FACTOR: Final = 5.0
_MAX_HINTS: Final = 6
_PREVIOUS_FACTOR: Final = 2.0
# Added to every candidate's langdetect probability, divided by the number of words, and the sum's square
# root taken: langdetect is often sure and wrong on three words ("¿A qué hora abre?" is Portuguese to it
# with 1.0), so its vote is tempered, and weighs less the fewer the words.
_LANGDETECT_FLOOR: Final = 0.3
_LANGDETECT_POWER: Final = 0.5
# Added to every candidate's lingua confidence, so that lingua alone cannot veto a language either.
_LINGUA_FLOOR: Final = 0.2
# A one-word message that no hint list knows ("Kinderpreis") is a language only when lingua and langdetect
# both give it at least this confidence; otherwise the user's language is kept. Names are the risk: lingua
# gives "Starbucks" 0.953 German (langdetect 0.57), "Kinderpreis" 0.970 (langdetect 1.0).
_SINGLE_WORD_CONFIDENCE: Final = 0.95


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words shared by Indonesian and Malay: evidence for the pair, not for either.
_MALAY_INDONESIAN: Final = """di mana terima kasih maaf tolong berapa harga saya apa apakah ada tidak selamat
    pagi siang malam sampai jumpa bayar jauh buka tutup besok mencari cari anak hilang jam makan masuk perlu
    beli tiket dekat sini arah sungai jalan hari ini kebakaran ambulans panggil yang untuk dengan boleh
    bagaimana kuil peta kawasan sekitar halal mau lama semua jatuh air orang makanan enak sedap harus bawa
    anjing"""

# Common chat words of each candidate language: function words, courtesy words (hello, thanks, sorry, bye,
# please, yes, no) and the nouns and verbs of a tourist's questions (hours, tickets, toilets, food, the way,
# emergencies). A word in several lists (la: fr, es, it) counts for each of them, and alone is no evidence.
_HINTS: Final[dict[str, frozenset[str]]] = {
    "en": _words(
        """the is are was where what when which who how why can could would should will do does did i
        i'm you your my we our it's there this that these those with from near here much many any
        some open close closes closed ticket tickets toilets bathroom restroom price cost costs parking
        lost help thank morning evening night tonight today tomorrow need want nearby have has of
        to and for at in on me us get go way far walk long time good great nice bring inside
        goodbye excuse hello helo hi hey thanks thx thank bye kids free entry food around buy
        someone somebody collapsed fainted fell fire smoke child kid son daughter missing bleeding
        breathing broken light lamp street police ambulance hurt injured emergency report problem
        doctor boat ride water eat try see everything stop dog monday mondays"""
    ),
    "fr": _words(
        """le la les un de que est où ou je j'ai vous nous merci bonjour bonsoir salut revoir désolé
        excusez oui c'est qu'il qu'est est-ce une des du pour avec ici combien quelle quel heure
        ça pas beaucoup près d'ici s'il plaît peut on mot passe perdu toilettes coûte entrée carte
        bancaire accepte acceptez loin pied au aux mon ma mes très cherche gare manger ouvert
        demain bonne journée sac svp ferme fermé billet billets tarif enfant enfants comment aller
        secours fils fille disparu appelez quelqu'un tombé feu rue coucou voudrais gratuit gratuite
        aidez aide peux recharger téléphone parlez anglais trouve faut réserver dans et il"""
    ),
    "de": _words(
        """der die das ist wo wie ich sie nicht nein danke dank vielen bitte entschuldigung tschüss
        guten morgen tag abend und ein eine einen mein meine gibt hier zu kann können mit zum zur
        schön viel kostet nähe eintritt wann macht habe verloren karte zahlen komme bahnhof weit
        fuß führung auf englisch toilette suche heute offen essen öffnet geöffnet schliesst schließt
        geschlossen toiletten klo kinder kind kaufen empfehlen fluss von hilfe weg krankenwagen rufen
        brennt feuer polizei servus muss man vorher frei schnell handy aufladen bis brauche arzt
        sprechen haben was"""
    ),
    "es": _words(
        """el la los las un de que está dónde donde cuánto cuanto qué hola gracias adiós perdón
        disculpe muchas por favor buenos buenas días tardes noches hay cerca mi puedo baño cómo
        como llego cuesta entrada aparcamiento cierra perdí cartera pagar tarjeta estación tren
        lejos caminando una hora busco abierto mañana comer hablas inglés abre niños servicios
        entradas aquí aqui restaurante templo río socorro perdido ambulancia incendio calle necesito
        médico reservar gratis hasta móvil hijo hija ayuda policía fuego están se
        tienen tiene puede quiero con del al para habla"""
    ),
    "it": _words(
        """il la è dov'è dove grazie prego scusi arrivederci mille buongiorno buonasera quanto costa
        posso sono della del di che non qui un una mi si ci vuole bagno biglietto per favore
        lontano ho perso mangiare aperto domani apre chiude oggi biglietti bambini sconti bagni
        ristorante vicino arrivo tempio aiuto trovo figlio figlia chiamate ambulanza incendio strada
        bisogna prenotare ingresso gratuito ricaricare telefono fino bisogno medico c'è cosa
        parli parla inglese avete con"""
    ),
    "pt": _words(
        """de que onde fica obrigado obrigada olá tchau desculpe bom dia você não quanto custa
        banheiro posso pagar cartão entrada estação longe meu minha perdi comer aberto amanhã um
        uma do da em tem aqui perto muito abre fecha museu ingresso ingressos criança crianças
        restaurante templo socorro filho filha chamem ambulância incêndio rua noite oi tudo precisa
        reservar grátis gratis carregar celular até vocês têm preciso ajuda cadê pra
        pode com na ao os para quero fala inglês é pé"""
    ),
    "vi": _words(
        """cam on xin chao loi ban toi khong dau bao nhieu tien duoc gi nha ve sinh di gio cua mo
        quan chua duong cuu goi buoi truoc mien ngat thoai hom nay khu pho bac chieu vay gan ngon"""
    ),
    "id": _words(
        _MALAY_INDONESIAN
        + """ bisa nggak gak enggak ngga aja sih dong kok sore dokter pingsan mobil coba dicoba kabar
        gratis makasih kamar mandi toiletnya tiketnya dimana halte butuh karcis inggris senin teman
        pesan diskon mengecas daerah kartu stasiun kereta"""
    ),
    "ms": _words(
        _MALAY_INDONESIAN
        + """ tandas kat tak nak percuma pukul diskaun macam sahaja je awak kedai tempahan pengsan
        doktor khabar petang ni tu inggeris cuba dicuba dah bas perhentian telefon patut
        kanak hospital kawan isnin esok cas stesen"""
    ),
}
_HINT_LANGUAGES: Final[dict[str, tuple[str, ...]]] = {}
for _language, _hint_words in _HINTS.items():
    for _word in _hint_words:
        _HINT_LANGUAGES[_word] = (*_HINT_LANGUAGES.get(_word, ()), _language)

# Letters that narrow the candidates: the odds get these as extra hints.
_LETTER_HINTS: Final[dict[str, tuple[str, ...]]] = {
    "ñ": ("es",),
    "¿": ("es",),
    "¡": ("es",),
    "ß": ("de",),
    "ä": ("de",),
    "ö": ("de",),
    "ü": ("de",),
    "ã": ("pt",),
    "õ": ("pt",),
    "ç": ("fr", "pt"),
    "œ": ("fr",),
    "è": ("fr", "it"),
    "ê": ("fr", "pt"),
    "î": ("fr",),
    "û": ("fr",),
    "ì": ("it",),
    "ò": ("it",),
}


def hint_languages(word: str) -> tuple[str, ...]:
    """The candidate languages whose chat words include `word` (lowercased)."""
    return _HINT_LANGUAGES.get(word, ())


def letter_languages(text: str) -> set[str]:
    """The candidate languages that the letters of `text` (ñ, ß, ã...) point to."""
    return {language for ch in text for language in _LETTER_HINTS.get(ch, ())}


class _LangdetectVoter:
    """langdetect restricted to the Latin candidates, with a fixed seed.

    Its own factory holds only the candidate profiles: restricting the languages this way is the same as a
    prior of zero for the others, and it keeps us off langdetect's global factory and its global seed.
    """

    def __init__(self) -> None:
        self.factory = DetectorFactory()
        profiles = [
            (Path(PROFILES_DIRECTORY) / language).read_text(encoding="utf-8")
            for language in _LANGDETECT_CANDIDATES
        ]
        self.factory.load_json_profile(profiles)
        # Seed 0, as `DetectorFactory.seed = 0` would, but only for this factory: langdetect draws random
        # n-grams, and an unseeded detector answers differently from one run to the next.
        self.factory.set_seed(0)

    def probabilities(self, text: str) -> dict[str, float]:
        """Probability per candidate (langdetect leaves out those below 0.1); empty without n-grams."""
        detector = self.factory.create()
        detector.append(text)
        try:
            found = {p.lang: p.prob for p in detector.get_probabilities()}
        except LangDetectException:
            return {}
        found["ms"] = found.get("id", 0.0)
        return found


class _LinguaVoter:
    """lingua restricted to the Latin candidates. Its models load on the first message that needs them."""

    def __init__(self) -> None:
        # Low accuracy mode: trigrams only, about 30 MB of models instead of 270 MB for the 1- to 5-grams,
        # loaded in 0.2 s instead of 1.5 s; on the test messages it gets one more wrong (see the README).
        builder = LanguageDetectorBuilder.from_languages(*_LINGUA_LANGUAGES.values())
        self.detector = builder.with_low_accuracy_mode().build()

    def probabilities(self, text: str) -> dict[str, float]:
        """Confidence per candidate, summing to 1 (all zero when no n-gram is known)."""
        return {
            _BY_LINGUA[value.language]: value.value
            for value in self.detector.compute_language_confidence_values(text)
        }


@cache
def _langdetect() -> _LangdetectVoter:
    # Built on first use, not at import time: community.models imports this package. Each call creates its
    # own Detector (they hold per-message state); the factory's tables are only read, so threads may share it.
    return _LangdetectVoter()


@cache
def _lingua() -> _LinguaVoter:
    return _LinguaVoter()


def hint_odds(words: Iterable[str], text: str, previous: str | None) -> dict[str, float]:
    """Odds per candidate from hint words and letters in `text`: each hit multiplies its languages' odds by 5.

    Multiplicative, like the likelihood of independent observations: three German function words make
    German 125 times likelier than a language with none, which is about what they are worth.
    """
    hits = dict.fromkeys(LATIN_CANDIDATES, 0)
    for word in words:
        for language in _HINT_LANGUAGES.get(word, ()):
            hits[language] += 1
    for ch in text:
        for language in _LETTER_HINTS.get(ch, ()):
            hits[language] += 1
    odds = {language: _HINT_FACTOR ** min(count, _MAX_HINTS) for language, count in hits.items()}
    if previous in odds:
        # Stickiness: between two about equally likely readings, stay in the user's language.
        odds[previous] *= _PREVIOUS_FACTOR
    return odds


@dataclass(frozen=True, slots=True)
class Vote:
    language: str
    probability: float


def _indonesian_or_malay(words: Iterable[str]) -> str:
    """Indonesian or Malay by the words only one of them uses; Indonesian when none or as many of each.

    lingua leans to Malay on the words both share ("Tolong! Anak saya hilang"), so its split of the pair is
    no evidence; Indonesian is the default because far more people write it.
    """
    indonesian = malay = 0
    for word in words:
        languages = _HINT_LANGUAGES.get(word, ())
        if "ms" in languages and "id" not in languages:
            malay += 1
        elif "id" in languages and "ms" not in languages:
            indonesian += 1
    return "ms" if malay > indonesian else "id"


def vote(words: tuple[str, ...], text: str, lowered: str, previous: str | None) -> Vote:
    """The most likely candidate for the Latin words `words` (joined: `text`) and its combined probability.

    `lowered` is the whole cleaned message, lowercased, for the letter hints (¿ is not part of a word).
    langdetect is not given the hints as its prior: it samples the same few n-grams of a short message
    hundreds of times until one language passes 0.99999, which washes out any prior. Its output is in effect
    the share of its 7 trials each language won, so it is used as one vote share among the evidence.
    """
    langdetect = _langdetect().probabilities(text)
    lingua = _lingua().probabilities(text)
    odds = hint_odds(words, lowered, previous)
    floor = _LANGDETECT_FLOOR / max(1, len(words))
    scores = {
        language: (langdetect.get(language, 0.0) + floor) ** _LANGDETECT_POWER
        * (lingua.get(language, 0.0) + _LINGUA_FLOOR)
        * odds[language]
        for language in LATIN_CANDIDATES
    }
    total = sum(scores.values())
    language = max(scores, key=lambda candidate: scores[candidate])
    if language in {"id", "ms"}:
        # The pair is sure; which of the two, only the words can say.
        return Vote(_indonesian_or_malay(words), (scores["id"] + scores["ms"]) / total)
    return Vote(language, scores[language] / total)


def single_word(word: str) -> Vote | None:
    """The language of one word that no hint list knows, when both statistical voters are sure of it."""
    lingua = _lingua().probabilities(word)
    if not lingua:
        return None
    language = max(lingua, key=lambda candidate: lingua[candidate])
    # langdetect's Indonesian stands for Malay too (see _LangdetectVoter).
    langdetect = _langdetect().probabilities(word).get(language, 0.0)
    if min(lingua[language], langdetect) < _SINGLE_WORD_CONFIDENCE:
        return None
    return Vote(language, lingua[language])
