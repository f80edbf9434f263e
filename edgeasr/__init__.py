"""edgeasr: train DeepSpeech-style CTC speech recognisers with Keras and ship them to a Pi."""

__version__ = "0.1.0"
