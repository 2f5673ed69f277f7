-- The load's row in `loads` (its columns: the column registry's LOADS, each bound by its name:
-- $load_id, $source_file, ...), and the store's marker of what it holds ($marker:
-- contains_synthetic or contains_real_data). The last writes of the load's transaction.
INSERT INTO loads BY NAME
SELECT {% for name in loads %}${{ name }} AS {{ name }}{{ ", " if not loop.last }}{% endfor %};

-- a delete and an insert rather than ON CONFLICT: a lake declares no key on store_meta
DELETE FROM store_meta WHERE key = $marker;
INSERT INTO store_meta VALUES ($marker, 'true');
