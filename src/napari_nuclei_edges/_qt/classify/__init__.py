"""The "Classify the stage" dock."""
