import type { PolicyAdmins } from "../config/schema.js";
import type { UserInfo } from "../objects/object.js";

const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

/** Is the requester a policy admin: a listed user, a member of a listed group, or a listed ServiceAccount? */
export function isPolicyAdmin(user: UserInfo | undefined, admins: PolicyAdmins): boolean {
  if (user === undefined) return false;
  const username = user.username ?? "";
  if (username !== "" && admins.users.includes(username)) return true;
  if (user.groups?.some((group) => admins.groups.includes(group))) return true;
  if (username.startsWith(SERVICE_ACCOUNT_PREFIX) && admins.serviceAccounts.length > 0) {
    // system:serviceaccount:<namespace>:<name> is listed as <namespace>/<name>.
    const account = username.slice(SERVICE_ACCOUNT_PREFIX.length).replace(":", "/");
    return admins.serviceAccounts.includes(account);
  }
  return false;
}

/** The requester as messages name it. */
export function requesterName(user: UserInfo | undefined): string {
  return user?.username || "an unknown requester";
}
