"""Language layer: which language a user writes in, and machine translation for the rest.

Detection never calls the network; translation always goes through the Translator port (and a cache).
"""

from community.language.detect import (
    CURATED,
    DEFAULT_LANGUAGE,
    SUPPORTED,
    Detection,
    detect,
    normalise_code,
)
from community.language.latin import CONFIDENCE_THRESHOLD
from community.language.translate import (
    AUTO,
    IDENTITY,
    CachedTranslator,
    CircuitBreaker,
    CircuitOpen,
    GoogleTranslator,
    MemoryTranslationCache,
    NullTranslator,
    Translation,
    TranslationCache,
    TranslationTimeout,
    TranslationUnavailable,
    TranslationUnchanged,
    Translator,
    UnsupportedLanguage,
    build_translator,
    google_code,
)

__all__ = [
    "AUTO",
    "CONFIDENCE_THRESHOLD",
    "CURATED",
    "DEFAULT_LANGUAGE",
    "IDENTITY",
    "SUPPORTED",
    "CachedTranslator",
    "CircuitBreaker",
    "CircuitOpen",
    "Detection",
    "GoogleTranslator",
    "MemoryTranslationCache",
    "NullTranslator",
    "Translation",
    "TranslationCache",
    "TranslationTimeout",
    "TranslationUnavailable",
    "TranslationUnchanged",
    "Translator",
    "UnsupportedLanguage",
    "build_translator",
    "detect",
    "google_code",
    "normalise_code",
]
