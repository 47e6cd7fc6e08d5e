-- name: area-insert
-- Add one study area; returns its id.
-- params: name, kind, geometry, geodesic_km2, official_km2, population, population_year, population_source, admin_level, osm_type, osm_id, osm_name, source, credit, source_id, min_lon, min_lat, max_lon, max_lat
-- bind: relation
INSERT INTO areas (name, kind, geometry, geodesic_km2, official_km2, population,
                   population_year, population_source, admin_level, osm_type, osm_id,
                   osm_name, source, credit, source_id, min_lon, min_lat, max_lon, max_lat)
VALUES ($name, $kind, $geometry, $geodesic_km2, $official_km2, $population, $population_year,
        $population_source, $admin_level, $osm_type, $osm_id, $osm_name, $source, $credit,
        $source_id, $min_lon, $min_lat, $max_lon, $max_lat)
RETURNING id;

-- name: area-insert-rows
-- Add the study areas staged as the Arrow table `area_rows` (mapper/areas.py: many areas in
-- one statement, e.g. the 2,400 boundaries of a large extract), in their order.
INSERT INTO areas (name, kind, geometry, geodesic_km2, official_km2, population,
                   population_year, population_source, admin_level, osm_type, osm_id,
                   osm_name, source, credit, source_id, min_lon, min_lat, max_lon, max_lat)
SELECT name, kind, geometry, geodesic_km2, official_km2, population, population_year,
       population_source, admin_level, osm_type, osm_id, osm_name, source, credit, source_id,
       min_lon, min_lat, max_lon, max_lat
FROM area_rows
ORDER BY pos;

-- name: area-delete-cache
-- Drop the cached grids of an area (before the area itself).
-- params: id
DELETE FROM grid_cache WHERE area_id = $id;

-- name: area-delete
-- Remove an area.
-- params: id
DELETE FROM areas WHERE id = $id;

-- name: area-names
-- Every area name (to keep names unique).
SELECT name FROM areas;

-- name: area-naming
-- What the display-name rule needs of every area (mapper/areas.py, display_names).
SELECT id, name, osm_type, osm_id, osm_name FROM areas ORDER BY id;

-- name: area-list
-- Every area with its figures (the geometry stays in the store).
SELECT id, name, kind, coalesce(official_km2, geodesic_km2) AS area_km2,
       official_km2 IS NOT NULL AS area_official, geodesic_km2, population, population_year,
       population_source, admin_level, osm_type, osm_id, osm_name, source, credit,
       reported_cameras, reported_source, min_lon, min_lat, max_lon, max_lat
FROM areas
ORDER BY kind, name;

-- name: area-get
-- One area by exact name, with its geometry.
-- params: name
SELECT id, name, kind, geometry, coalesce(official_km2, geodesic_km2) AS area_km2,
       official_km2 IS NOT NULL AS area_official, geodesic_km2, population, population_year,
       population_source, admin_level, osm_type, osm_id, osm_name, source, credit,
       reported_cameras, reported_source, min_lon, min_lat, max_lon, max_lat
FROM areas WHERE name = $name;

-- name: area-get-id
-- One area by id, with its geometry.
-- params: id
SELECT id, name, kind, geometry, coalesce(official_km2, geodesic_km2) AS area_km2,
       official_km2 IS NOT NULL AS area_official, geodesic_km2, population, population_year,
       population_source, admin_level, osm_type, osm_id, osm_name, source, credit,
       reported_cameras, reported_source, min_lon, min_lat, max_lon, max_lat
FROM areas WHERE id = $id;

-- name: area-get-osm
-- The areas made from one OSM element ('relation' or 'way', and its id).
-- params: osm_type, osm_id
SELECT id FROM areas WHERE osm_type = $osm_type AND osm_id = $osm_id ORDER BY id;

-- name: area-enclosing
-- Admin areas (with an admin level below $level, any level when $level is NULL) whose box
-- holds the given box, smallest first: the candidates for an area's enclosing area.
-- params: id, level, min_lon, min_lat, max_lon, max_lat
SELECT id, name, osm_type, osm_id, admin_level, geodesic_km2, geometry
FROM areas
WHERE admin_level IS NOT NULL AND id <> $id
  AND ($level IS NULL OR admin_level < $level)
  AND min_lon <= $min_lon AND min_lat <= $min_lat AND max_lon >= $max_lon
  AND max_lat >= $max_lat
ORDER BY geodesic_km2, id;

-- name: area-set-reported
-- Record a published camera count for an area, and where it was published.
-- params: id, reported, reported_source
UPDATE areas SET reported_cameras = $reported, reported_source = $reported_source
WHERE id = $id;

-- name: area-set-population
-- Set an area's population and its year and source.
-- params: id, population, population_year, population_source
UPDATE areas SET population = $population, population_year = $population_year,
                 population_source = $population_source
WHERE id = $id;

-- name: area-rename
-- Give an area a new name (its figures and cache stay).
-- params: id, new_name
UPDATE areas SET name = $new_name WHERE id = $id;
