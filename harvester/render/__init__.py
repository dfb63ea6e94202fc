"""The outputs: one document model (`document.py`) that every format lays out (`markdown`, `html`,
`docx`, `xlsx`), and the charts drawn beside it; none of them computes a statistic."""
