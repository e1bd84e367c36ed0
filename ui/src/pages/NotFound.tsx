import { Link } from 'react-router-dom';
import { PageHeader } from '@/components/common';

export function NotFoundPage() {
  return (
    <div>
      <PageHeader title="Page not found" />
      <p className="text-sm text-slate-700">
        There is nothing at this address. <Link className="text-blue-700 underline" to="/">Go to the dashboard</Link>.
      </p>
    </div>
  );
}
