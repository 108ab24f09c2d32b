"""articlebot: answers questions from news articles alone, quoting the sentences it relied on."""

__version__ = "0.1.0"
