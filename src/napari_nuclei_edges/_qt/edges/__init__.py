"""The Sobel dock."""
