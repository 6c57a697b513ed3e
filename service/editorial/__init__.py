"""The editors' tools: rules (pins and blocks) and their stores, the rules API, the preview
page with its explainer, search and previous-bundle diff, and the editors' authentication."""
