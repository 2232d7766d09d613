/** Histogram buckets, in seconds: uploads take seconds to an hour or more, builds minutes to hours. */
export const UPLOAD_SECONDS_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
export const BUILD_SECONDS_BUCKETS = [10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 14400];
