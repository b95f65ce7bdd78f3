/** Where uploads go: the node URL, kept in this browser. */
import { useState } from "react";
import { Field } from "../components/Field.tsx";
import { DEFAULT_NODE_URL, setNodeUrl, useNodeUrl } from "../settings.ts";

export function SettingsPage() {
  const current = useNodeUrl();
  const [text, setText] = useState(current);
  const [saved, setSaved] = useState(false);
  let error: string | undefined;
  try {
    if (!["http:", "https:"].includes(new URL(text).protocol)) error = "Use an http:// or https:// URL.";
  } catch {
    error = "Enter a URL such as http://127.0.0.1:8700.";
  }
  return (
    <>
      <h1>Settings</h1>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (error) return;
          setNodeUrl(text.trim());
          setSaved(true);
        }}
      >
        <Field label="Node URL" value={text} onChange={(e) => { setText(e.target.value); setSaved(false); }} error={error} hint={`The node that stores your uploads (default ${DEFAULT_NODE_URL}).`} />
        <button className="button primary" type="submit" disabled={Boolean(error)}>
          Save
        </button>
        <p role="status" className="ok">{saved ? "Saved." : ""}</p>
      </form>
    </>
  );
}
