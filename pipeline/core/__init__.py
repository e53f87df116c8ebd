"""The ground floor: problems and their catalogue, settings from params.yaml, the vocabularies under
schemas/, files and hashing, the review's citation. Imports nothing else of pipeline."""
