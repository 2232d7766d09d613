/** The dashboard's stylesheet and script, imported as text (`with { type: 'text' }`) and so embedded in the binary. */
declare module '*.css' {
  const text: string;
  export default text;
}
declare module '*.client.js' {
  const text: string;
  export default text;
}
