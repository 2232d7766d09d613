/**
 * The fleet's access rules (README, "Access rules"): builders register the image functions, the
 * scheduler submits them and reads status. Tests append the rules of their own extra peers.
 */
export const FLEET_RULES = `
[[rule]]
cn = "builder-*"
register = ["image-*", "provider-image-*", "builder-image-list:*"]

[[rule]]
cn = "scheduler"
submit = ["image-*", "provider-image-*", "builder-image-list:*"]
admin = ["status", "workers"]
`;
