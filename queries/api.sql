-- name: api-cameras
-- Every stored camera for the Python API (mapper/api.py): the columns of `export-cameras`
-- (same rounding, same order, same $public_only rule) and the raw OSM tags.
-- params: public_only
SELECT c.osm_type, c.osm_id, round(c.lat, 7) AS lat, round(c.lon, 7) AS lon, c.kind,
       c.visibility, c.camera_type, c.zone, c.mount, c.operator, c.directions,
       c.direction_invalid, s.path AS source, c.tags
FROM cameras c JOIN sources s ON s.id = c.source_id
WHERE NOT $public_only OR c.visibility NOT IN ('indoor', 'other')
ORDER BY c.osm_type, c.osm_id;

-- name: api-area-cameras
-- The cameras inside one area (the grid's, compare's and the maps' inside test, through the
-- `area_cameras` macro), with the columns of `api-cameras`.
-- params: area_id, public_only
SELECT c.osm_type, c.osm_id, round(c.lat, 7) AS lat, round(c.lon, 7) AS lon, c.kind,
       c.visibility, c.camera_type, c.zone, c.mount, c.operator, c.directions,
       c.direction_invalid, s.path AS source, c.tags
FROM area_cameras($area_id) c JOIN sources s ON s.id = c.source_id
WHERE NOT $public_only OR c.visibility NOT IN ('indoor', 'other')
ORDER BY c.osm_type, c.osm_id;

-- name: api-area-geometries
-- Every area's boundary (WKB, EPSG:4326) by id, beside `area-list`'s figures.
SELECT id, geometry FROM areas ORDER BY id;
