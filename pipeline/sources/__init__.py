"""Where the review's findings come from: the text export, the article's JATS XML, their reconciliation
and the JATS download. Never imports pipeline.contributions."""
