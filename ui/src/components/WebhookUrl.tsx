import { Copy } from 'lucide-react';
import type { ConnectorKind } from '@/api/types';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { toast } from '@/components/ui/toast';
import { webhookUrl } from '@/lib/kinds';

/** The webhook URL of one connector (the kind's `webhook.path` with its id), with a copy button. */
export function WebhookUrl({ kind, connector }: { kind: ConnectorKind | undefined; connector: { id: number; name: string } }) {
  const url = webhookUrl(window.location.origin, kind, connector.id);
  if (!url) return null;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      toast({ variant: 'success', title: 'Copied to the clipboard' });
    } catch {
      toast({ variant: 'error', title: 'Could not copy', description: 'Select the URL and copy it by hand.' });
    }
  };
  return (
    <div className="grid gap-1">
      <div className="flex gap-2">
        <Input readOnly value={url} aria-label={`Webhook URL for ${connector.name}`} className="font-mono text-xs" onFocus={(e) => e.currentTarget.select()} />
        <Button type="button" variant="outline" size="icon" aria-label={`Copy webhook URL for ${connector.name}`} onClick={() => void copy()}>
          <Copy aria-hidden="true" />
        </Button>
      </div>
      {kind?.webhook?.signature && (
        <p className="text-xs text-slate-600">
          Signed as <code className="break-all">{kind.webhook.signature}</code>
        </p>
      )}
    </div>
  );
}
