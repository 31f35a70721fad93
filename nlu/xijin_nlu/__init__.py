"""Components of ours that Rasa loads from this folder (nothing else of the project runs inside Rasa)."""
