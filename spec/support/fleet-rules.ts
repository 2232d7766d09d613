/**
 * The fleet's access rules (README, "Access rules"): builders register the image functions, the
 * scheduler submits them and reads status. They must grant every function of the wire contract
 * (README, "The job wire contract"): builder-image-list:<client-id> included. Tests append the rules of their own extra peers.
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
