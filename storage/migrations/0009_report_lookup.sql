-- The duplicate hint looks for open reports of one category in a desa or near a pin on every new
-- report; these indexes let each half of that lookup read only the matching rows.
CREATE INDEX reports_category_desa ON reports(category_code, desa_code, status);
CREATE INDEX reports_category_position ON reports(category_code, latitude, longitude);
