export async function audit(_argv: string[]): Promise<number> {
  return 2;
}
