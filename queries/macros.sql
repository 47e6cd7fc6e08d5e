-- name: macro-area-cameras
-- The one "inside an area" test, shared by grid, compare and maps so that their counts
-- always agree: a camera is in an area when the boundary intersects its point (points on the
-- boundary count as inside), after a bounding-box prefilter. A temporary table macro:
-- `SELECT ... FROM area_cameras($area_id)`.
CREATE OR REPLACE TEMP MACRO area_cameras(aid) AS TABLE
SELECT c.*
FROM cameras c, areas a
WHERE a.id = aid
  AND c.lon BETWEEN a.min_lon AND a.max_lon
  AND c.lat BETWEEN a.min_lat AND a.max_lat
  AND ST_Intersects(ST_GeomFromWKB(a.geometry), ST_Point(c.lon, c.lat));
