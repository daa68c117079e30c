/**
 * Owner columns shared by Salesforce tables: `Owner` is a User lookup every owned object has.
 *
 * @module
 */
import type { SfColumn } from "./_table.ts";

/** `owner_id`, `owner_name`, `owner_email`, `owner_department`. */
export const OWNER_COLUMNS: SfColumn[] = [
  { name: "owner_id", type: "text", field: "OwnerId", kind: "id", description: "Owner's user id." },
  {
    name: "owner_name",
    type: "text",
    field: "Owner.Name",
    kind: "text",
    description: "Owner's name.",
    classification: "pii.person",
  },
  {
    name: "owner_email",
    type: "text",
    field: "Owner.Email",
    kind: "text",
    description: "Owner's email.",
    classification: "pii.email",
  },
  {
    name: "owner_department",
    type: "text",
    field: "Owner.Department",
    kind: "text",
    description: "Owner's department (User.Department; the demo orgs record the team id there).",
  },
];
