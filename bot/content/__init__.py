"""The shapes of the content administrators edit; pure data, read by every layer."""

from pathlib import Path

# The content that ships with the product (a deployment may serve another folder).
SHIPPED_CONTENT_DIR = Path(__file__).resolve().parent.parent.parent / "content"
