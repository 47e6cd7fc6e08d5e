-- name: street-file-get
-- The stored street file of this sha256, if any.
-- params: sha256
SELECT id, path, sha256, read_at, streets, buildings, skipped_ways
FROM street_files WHERE sha256 = $sha256;

-- name: street-file-insert
-- Record a file whose streets and buildings are stored; returns its id.
-- params: path, sha256, read_at, streets, buildings, skipped_ways, min_lon, min_lat, max_lon, max_lat
INSERT INTO street_files (path, sha256, read_at, streets, buildings, skipped_ways, min_lon,
                          min_lat, max_lon, max_lat)
VALUES ($path, $sha256, $read_at, $streets, $buildings, $skipped_ways, $min_lon, $min_lat,
        $max_lon, $max_lat)
RETURNING id;

-- name: street-files-holding
-- How many stored street files have a box that holds this box (an area's).
-- params: min_lon, min_lat, max_lon, max_lat
SELECT count(*) AS n FROM street_files
WHERE min_lon <= $min_lon + 1e-9 AND min_lat <= $min_lat + 1e-9
  AND max_lon >= $max_lon - 1e-9 AND max_lat >= $max_lat - 1e-9;

-- name: streets-drop-copies
-- Drop the stored copies of the staged ways (the Arrow relation `street_rows`).
DELETE FROM streets WHERE osm_id IN (SELECT osm_id FROM street_rows);

-- name: streets-insert
-- Store the staged streets (`street_rows`) as the file's.
-- params: file_id
INSERT INTO streets
SELECT $file_id, osm_id, highway, street, walk, length_m, min_lon, min_lat, max_lon, max_lat,
       geometry
FROM street_rows;

-- name: buildings-drop-copies
-- Drop the stored copies of the staged buildings (the Arrow relation `building_rows`).
DELETE FROM buildings b
WHERE EXISTS (SELECT 1 FROM building_rows r
              WHERE r.osm_type = b.osm_type AND r.osm_id = b.osm_id);

-- name: buildings-insert
-- Store the staged buildings (`building_rows`) as the file's.
-- params: file_id
INSERT INTO buildings
SELECT $file_id, osm_type, osm_id, min_lon, min_lat, max_lon, max_lat, geometry
FROM building_rows;

-- name: street-files
-- The files whose streets are stored, oldest first.
SELECT id, path, sha256, read_at, streets, buildings, skipped_ways
FROM street_files ORDER BY id;

-- name: streets-in-box
-- The stored streets whose bounding box meets the box (lon/lat degrees).
-- params: min_lon, min_lat, max_lon, max_lat
SELECT osm_id, highway, street, walk, length_m, geometry
FROM streets
WHERE max_lon >= $min_lon AND min_lon <= $max_lon
  AND max_lat >= $min_lat AND min_lat <= $max_lat
ORDER BY osm_id;

-- name: buildings-in-box
-- The stored buildings whose bounding box meets the box (lon/lat degrees).
-- params: min_lon, min_lat, max_lon, max_lat
SELECT osm_type, osm_id, geometry
FROM buildings
WHERE max_lon >= $min_lon AND min_lon <= $max_lon
  AND max_lat >= $min_lat AND min_lat <= $max_lat
ORDER BY osm_type, osm_id;

-- name: coverage-cameras
-- The cameras of an area (the shared inside test) with what a field of view needs.
-- params: area_id
SELECT osm_type, osm_id, lat, lon, kind, visibility, camera_type, directions
FROM area_cameras($area_id)
ORDER BY osm_type, osm_id;
